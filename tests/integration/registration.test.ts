/**
 * Registration, templates and userdata through the ingress: the registration worker makes the
 * Foreman call over the broker, with the smart-proxy's forwarding rules; failures answer what a
 * shell or an installer can act on, within the timeout plus a second.
 * Runs once per transport, AMQP 0-9-1 and AMQP 1.0 (@every-transport; see scripts/test.mjs).
 */
import t from 'tap';
import { rawRequest } from '../helpers/raw-http.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { startHubFor, usePrefix } from '../helpers/test-hub.ts';
import { testConfig } from '../helpers/hub-harness.ts';
import { startHubWithForeman } from '../helpers/hub-with-foreman.ts';

const TIMEOUT_MS = 1500;
const { foreman, hub } = await startHubWithForeman(t, { overrides: () => ({ rpcTimeoutMs: TIMEOUT_MS, registrationUrl: 'https://proxy.example.com:8443', templateUrl: 'http://proxy.example.com:8000' }) });

const last = () => foreman.requests.at(-1);
const query = (path: string) => new URL(path, 'http://x').searchParams;

t.test('GET /register: params, url= and the Bearer token reach Foreman; the script comes back byte for byte', async (t) => {
  const response = await fetch(`${hub.ingressUrl}/register?organization_id=1&location_id=2&repo_data[]=a&repo_data[]=b`, {
    headers: { authorization: 'Bearer jwt.token.value', 'x-custom-header': 'dropped', 'accept-encoding': 'gzip' },
  });
  const text = await response.text();
  const seen = last();
  t.equal(response.status, 200);
  t.equal(seen?.method, 'GET');
  t.equal(seen?.path, '/register');
  t.equal(seen?.headers.authorization, 'Bearer jwt.token.value', 'the token is passed on');
  t.equal(seen?.headers['x-custom-header'], undefined, 'headers outside the allowlist stay behind');
  t.not(seen?.headers.host, new URL(hub.ingressUrl as string).host, 'Host is not passed on');
  t.equal(text, `#!/bin/sh\n# rendered GET /register url=https://proxy.example.com:8443\necho ok\n`, 'Foreman’s body, unchanged');
  t.match(response.headers.get('content-type'), /^text\/plain/);
});

t.test('the query Foreman sees keeps every parameter and adds url=', async (t) => {
  await fetch(`${hub.ingressUrl}/register?organization_id=1&repo_data[]=a&repo_data[]=b&url=http://evil`, { headers: { authorization: 'Bearer x' } });
  const rawUrl = foreman.rawUrls.at(-1) as string;
  const params = query(rawUrl);
  t.equal(params.get('organization_id'), '1');
  t.same(params.getAll('repo_data[]'), ['a', 'b'], 'repeated parameters survive');
  t.same(params.getAll('url'), ['https://proxy.example.com:8443'], 'url= is the registration URL, never the client’s');
});

t.test('POST /register: a JSON body is passed as is, a form body with only url= in the query', async (t) => {
  const json = '{"host":{"name":"new.example.com","organization_id":1}}';
  const answer = await fetch(`${hub.ingressUrl}/register?setup_insights=false`, { method: 'POST', headers: { authorization: 'Bearer x', 'content-type': 'application/json' }, body: json });
  t.equal(answer.status, 200);
  t.equal(last()?.raw, json, 'JSON body byte for byte');
  t.equal(query(foreman.rawUrls.at(-1) as string).get('setup_insights'), 'false', 'query passed with a JSON body');
  const form = 'host%5Bname%5D=form.example.com&host%5Blocation_id%5D=2';
  await fetch(`${hub.ingressUrl}/register?setup_insights=false`, { method: 'POST', headers: { authorization: 'Bearer x', 'content-type': 'application/x-www-form-urlencoded' }, body: form });
  t.equal(last()?.raw, form, 'form body byte for byte');
  t.same([...query(foreman.rawUrls.at(-1) as string).keys()], ['url'], 'only url= in the query with a form body');
});

t.test('templates: blocklisted params dropped, url= the template URL, X-Forwarded-For the client', async (t) => {
  const response = await fetch(`${hub.ingressUrl}/unattended/provision?token=abc&kind=evil&path=x&static=true`, { headers: { 'x-rhn-provisioning-mac-0': 'eth0 52:54:00:00:00:01' } });
  t.equal(response.status, 200);
  const params = query(foreman.rawUrls.at(-1) as string);
  t.equal(params.get('token'), 'abc');
  t.equal(params.get('static'), 'true');
  t.equal(params.get('kind'), null, 'kind is blocklisted');
  t.equal(params.get('path'), null, 'path is blocklisted');
  t.equal(params.get('url'), 'http://proxy.example.com:8000');
  t.equal(last()?.headers['x-rhn-provisioning-mac-0'], 'eth0 52:54:00:00:00:01', 'provisioning MAC headers passed on');
  t.equal(last()?.headers['x-forwarded-for'], '127.0.0.1');
  const hostgroup = await fetch(`${hub.ingressUrl}/unattended/provision/Kickstart%20default/base`);
  t.equal(hostgroup.status, 200);
  t.equal(last()?.path, '/unattended/provision/Kickstart%20default/base', 'hostgroup template path, escaped');
  const built = await fetch(`${hub.ingressUrl}/unattended/built?token=abc`, { method: 'POST', body: 'build log' });
  t.equal(built.status, 200);
  t.equal(last()?.raw, 'build log');
  t.match(String(last()?.headers['content-type']), /^text\/plain/, 'POST bodies go as text/plain');
  t.equal((await fetch(`${hub.ingressUrl}/userdata/user-data`)).status, 200);
  t.equal(last()?.path, '/userdata/user-data');
});

t.test('templateServer answers from the template URL setting, and is cached', async (t) => {
  const before = foreman.requests.length;
  const first = await (await fetch(`${hub.ingressUrl}/unattended/templateServer`)).json();
  const second = await (await fetch(`${hub.ingressUrl}/unattended/templateServer`)).json();
  t.same(first, { templateServer: 'http://proxy.example.com:8000' });
  t.same(second, first);
  t.equal(foreman.requests.length, before, 'Foreman is not asked for it');
});

t.test('Foreman’s own 4xx status and text are passed through', async (t) => {
  const noToken = await fetch(`${hub.ingressUrl}/register`);
  t.equal(noToken.status, 401);
  t.equal(await noToken.text(), 'missing registration token\n');
  const missing = await fetch(`${hub.ingressUrl}/unattended/missing`);
  t.equal(missing.status, 404);
  t.equal(await missing.text(), 'template not found\n');
});

t.test('Foreman failing: a script for registration, a clear text for templates, within the timeout + 1 s', async (t) => {
  for (const [fault, expected] of [[{ status: 503 }, 503], [{ delayMs: TIMEOUT_MS + 1000 }, 504]] as const) {
    foreman.fault = fault;
    const started = Date.now();
    const registration = await fetch(`${hub.ingressUrl}/register`, { headers: { authorization: 'Bearer x' } });
    const elapsed = Date.now() - started;
    const script = await registration.text();
    t.equal(registration.status, expected, `registration answers ${expected}`);
    t.ok(elapsed < TIMEOUT_MS + 1000, `within the timeout + 1 s (${elapsed} ms)`);
    if (expected === 504) {
      t.match(script, /^#!\/bin\/sh\necho '.+' >&2\nexit 1\n$/, 'a script that prints the reason and exits 1');
    }
    const template = await fetch(`${hub.ingressUrl}/unattended/provision`);
    t.equal(template.status, expected);
    if (expected === 504) t.match(await template.text(), /^proxyhub: unattended request could not be answered: /);
  }
  // The slow answers are still on their way to being recorded (after their delay): wait for them
  // here, or a busy machine lands them in the next test's `last()`.
  await waitFor(() => foreman.inFlight === 0, { what: 'the slow Foreman answers recorded' });
  foreman.fault = {};
  await foreman.stop();
  const down = await fetch(`${hub.ingressUrl}/register`, { headers: { authorization: 'Bearer x' } });
  t.equal(down.status, 502, 'Foreman down: 502');
  const script = await down.text();
  t.match(script, /Foreman unreachable/);
  t.match(script, /\nexit 1\n$/);
  const downTemplate = await fetch(`${hub.ingressUrl}/userdata/meta-data`);
  t.equal(downTemplate.status, 502);
  await foreman.start();
});

t.test('template paths cannot climb out of /unattended or /userdata', async (t) => {
  const before = foreman.requests.length;
  // Raw bytes: fetch would resolve the dot segments before sending them.
  const port = Number(new URL(hub.ingressUrl as string).port);
  for (const path of ['/unattended/..', '/unattended/%2e%2e', '/unattended/%2E%2E/node', '/userdata/..', '/userdata/.', '/unattended/provision/../../node/x']) {
    const response = await rawRequest(port, Buffer.from(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`));
    t.ok(response.status === 400 || response.status === 404, `${path} → ${response.status}`);
  }
  const encodedSlash = await fetch(`${hub.ingressUrl}/unattended/provision/Kickstart/a%2F..%2F..%2Fnode`);
  t.equal(encodedSlash.status, 200, 'a slash inside a host group stays inside its segment');
  t.equal(last()?.path, '/unattended/provision/Kickstart/a%2F..%2F..%2Fnode');
  t.equal(foreman.requests.length, before + 1, 'Foreman saw only the legitimate request');
});

t.test('a client cannot choose the X-Forwarded-For Foreman identifies it by', async (t) => {
  await fetch(`${hub.ingressUrl}/userdata/user-data`, { headers: { 'x-forwarded-for': '10.9.8.7' } });
  t.equal(last()?.headers['x-forwarded-for'], '127.0.0.1', 'the connection’s address, not the header');
});

t.test('no header a client sends can tell Foreman another address (dashes or underscores)', async (t) => {
  const port = Number(new URL(hub.ingressUrl as string).port);
  // Raw bytes: Node keeps `X-Forwarded_For` as its own header name, and Rack (Foreman) reads it as
  // HTTP_X_FORWARDED_FOR, the same variable as X-Forwarded-For.
  const spoofing = ['X-Forwarded_For: 10.9.8.7', 'X_Forwarded_For: 10.9.8.7', 'Forwarded: for=10.9.8.7', 'X-Real-IP: 10.9.8.7', 'X-Real_IP: 10.9.8.7', 'X-Forwarded-Host: foreman.example.com', 'Client-IP: 10.9.8.7'];
  for (const path of ['/register', '/unattended/provision', '/userdata/user-data']) {
    const head = [`GET ${path} HTTP/1.1`, 'Host: 127.0.0.1', 'Authorization: Bearer x', 'X-Forwarded-For: 10.9.8.7', ...spoofing, 'X-RHN-Provisioning-MAC-0: eth0 52:54:00:00:00:01', 'Connection: close'];
    const response = await rawRequest(port, Buffer.from(`${head.join('\r\n')}\r\n\r\n`));
    t.equal(response.status, 200, path);
    const seen = last()?.headers ?? {};
    const identifying = Object.keys(seen).filter((name) => /^(x[-_]forwarded|forwarded|x[-_]real|client[-_]ip|x_)/.test(name));
    t.strictSame(identifying, path === '/register' ? [] : ['x-forwarded-for'], `${path}: ${identifying.join(', ')}`);
    if (path !== '/register') t.equal(seen['x-forwarded-for'], '127.0.0.1', `${path}: the connection's address`);
    t.equal(seen['x-rhn-provisioning-mac-0'], 'eth0 52:54:00:00:00:01', `${path}: MAC headers still pass`);
  }
});

t.test('Foreman is asked for the template server at the control listener, as Foreman does', async (t) => {
  const answer = await fetch(`${hub.controlUrl}/unattended/templateServer`);
  t.same(await answer.json(), { templateServer: 'http://proxy.example.com:8000' });
});

t.test('with no registration worker running, the answer is an immediate 503, not a timeout', async (t) => {
  const lone = await startHubFor(t, testConfig(usePrefix(t), 'http://127.0.0.1:9', { rpcTimeoutMs: 20_000 }), 'ingress');
  const started = Date.now();
  const registration = await fetch(`${lone.ingressUrl}/register`, { headers: { authorization: 'Bearer x' } });
  t.equal(registration.status, 503);
  t.ok(Date.now() - started < 1000, `answered in ${Date.now() - started} ms, not after the 20 s timeout`);
  t.equal(registration.headers.get('retry-after'), '5');
  t.match(await registration.text(), /No worker is running[\s\S]*\nexit 1\n$/);
  const template = await fetch(`${lone.ingressUrl}/unattended/provision`);
  t.equal(template.status, 503);
});
