import t from 'tap';
import type { ForemanRequest } from '../../contracts/rpc/foreman-request.ts';
import { foremanCallFor, templatePath } from '../../workers/registration/forwarding.ts';

const makeRequest = (overrides: Partial<ForemanRequest> = {}): ForemanRequest => ({
  kind: 'unattended',
  method: 'GET',
  path: '/unattended/provision',
  query: [],
  headers: {},
  clientAddress: '192.0.2.10',
  ingressBaseUrl: 'https://proxy.example.com:8443',
  timeoutMs: 5000,
  deadline: Date.now() + 5000,
  ...overrides,
});
const settings = { registrationUrl: 'https://reg.example.com', templateUrl: 'http://tpl.example.com' };

t.test('the worker keeps template calls under their root, whatever the request says', async (t) => {
  t.equal(templatePath(makeRequest()), '/unattended/provision');
  for (const path of ['/unattended/..', '/unattended/../node/x', '/userdata/../../api/hosts', '/unattended/', '/register']) {
    t.throws(() => templatePath(makeRequest({ path })), RangeError, path);
  }
  t.throws(() => templatePath(makeRequest({ kind: 'userdata', path: '/unattended/provision' })), RangeError, 'userdata stays under /userdata/');
});

t.test('templates: blocklist, url= and X-Forwarded-For set (never appended)', async (t) => {
  const call = foremanCallFor(makeRequest({ query: [['token', 'a'], ['kind', 'x'], ['url', 'http://evil']], headers: { 'x-forwarded-for': '10.9.8.7' } }), settings, 1000);
  t.same(call.query, [['token', 'a'], ['url', 'http://tpl.example.com']]);
  t.equal(call.headers['x-forwarded-for'], '192.0.2.10');
});

t.test('registration: a form body keeps only url= in the query; JSON keeps the query', async (t) => {
  const form = foremanCallFor(makeRequest({ kind: 'register', method: 'POST', path: '/register', query: [['a', '1']], headers: { 'content-type': 'application/x-www-form-urlencoded' } }), settings, 1000);
  t.same(form.query, [['url', 'https://reg.example.com']]);
  const json = foremanCallFor(makeRequest({ kind: 'register', method: 'POST', path: '/register', query: [['a', '1']], headers: { 'content-type': 'application/json' } }), settings, 1000);
  t.same(json.query, [['a', '1'], ['url', 'https://reg.example.com']]);
  const fallback = foremanCallFor(makeRequest({ kind: 'register', path: '/register' }), { registrationUrl: undefined, templateUrl: undefined }, 1000);
  t.same(fallback.query, [['url', 'https://proxy.example.com:8443']], 'without a setting, the URL the client reached');
});

/** Every way a client could try to tell Foreman who it is, with dashes and with underscores. */
const SPOOFING_HEADERS: Record<string, string> = {
  'x-forwarded-for': '10.9.8.7',
  'x-forwarded_for': '10.9.8.7',
  x_forwarded_for: '10.9.8.7',
  forwarded: 'for=10.9.8.7',
  'x-real-ip': '10.9.8.7',
  'x-real_ip': '10.9.8.7',
  'x-forwarded-host': 'foreman.example.com',
  'x-forwarded-proto': 'https',
  'x-client-ip': '10.9.8.7',
  'client-ip': '10.9.8.7',
  'x-ssl-client-cert': 'forged',
  cookie: '_session_id=stolen',
  'x-custom-header': 'dropped',
  'x-rhn-provisioning-mac_0': 'eth0 52:54:00:00:00:99',
};

t.test('registration: only the allowlisted headers reach Foreman, whatever the ingress sent', async (t) => {
  const wanted = { authorization: 'Bearer jwt', 'content-type': 'application/json', accept: 'text/plain', 'user-agent': 'curl/8', 'x-rhn-provisioning-mac-0': 'eth0 52:54:00:00:00:01' };
  const call = foremanCallFor(makeRequest({ kind: 'register', method: 'POST', path: '/register', headers: { ...SPOOFING_HEADERS, ...wanted } }), settings, 1000);
  t.strictSame(call.headers, wanted);
});

t.test('templates: only the MAC headers and the basics pass; X-Forwarded-For is the connection', async (t) => {
  const wanted = { accept: '*/*', 'user-agent': 'anaconda/34', 'x-rhn-provisioning-mac-0': 'eth0 52:54:00:00:00:01', 'x-rhn-provisioning-mac-1': 'eth1 52:54:00:00:00:02' };
  const call = foremanCallFor(makeRequest({ headers: { ...SPOOFING_HEADERS, ...wanted, authorization: 'Basic x' } }), settings, 1000);
  t.strictSame(call.headers, { ...wanted, 'x-forwarded-for': '192.0.2.10' });
  const built = foremanCallFor(makeRequest({ method: 'POST', path: '/unattended/built', headers: { ...SPOOFING_HEADERS, 'content-type': 'application/json' } }), settings, 1000);
  t.strictSame(built.headers, { 'x-forwarded-for': '192.0.2.10', 'content-type': 'text/plain' });
});
