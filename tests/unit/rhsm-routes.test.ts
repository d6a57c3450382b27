/**
 * The `/rhsm` classification both the ingress and the worker apply (contracts/rhsm/rhsm-routes.ts)
 * and the calls the worker makes from it (workers/rhsm/katello-calls.ts): which routes name a
 * consumer, which uploads are async, the headers that reach Katello and the ones that never do.
 */
import { readFileSync } from 'node:fs';
import t from 'tap';
import { rhsmForwardedHeaders } from '../../contracts/rhsm/rhsm-rpc.ts';
import { classifyRhsmRoute, coalesceSlot, isFactsOnly, katelloPath, uploadPath } from '../../contracts/rhsm/rhsm-routes.ts';
import { answerOf, certificateCn, katelloCallFor, uploadCallFor } from '../../workers/rhsm/katello-calls.ts';
import { createTestPki } from '../helpers/pki.ts';

const pki = createTestPki();
t.teardown(() => pki.remove());
const UUID = '11111111-aaaa-4bbb-8ccc-000000000001';
const pem = readFileSync(pki.client(UUID).cert, 'utf8');
const otherPem = readFileSync(pki.client('22222222-aaaa-4bbb-8ccc-000000000002').cert, 'utf8');
const client = { certificatePem: pem, address: '192.0.2.7', host: 'capsule.example.com:8443' };

t.test('consumer routes and async uploads', async (t) => {
  t.strictSame(classifyRhsmRoute('GET', `/consumers/${UUID}/certificates/serials`), { consumerUuid: UUID, upload: undefined });
  t.strictSame(classifyRhsmRoute('POST', '/consumers'), { consumerUuid: undefined, upload: undefined }, 'registration names no consumer');
  t.strictSame(classifyRhsmRoute('GET', '/pools', [['consumer', UUID]]), { consumerUuid: UUID, upload: undefined }, 'pools of a consumer');
  t.strictSame(classifyRhsmRoute('GET', '/owners/ACME/pools', [['consumer', UUID]]), { consumerUuid: undefined, upload: undefined });
  t.equal(classifyRhsmRoute('GET', `/consumers/${UUID.replace(/-/g, '%2D')}`).consumerUuid, UUID, 'escapes decoded');
  for (const [path, kind] of [[`/consumers/${UUID}/profiles/`, 'profiles'], [`/consumers/${UUID}/profile`, 'profile'], [`/consumers/${UUID}/packages`, 'packages'], [`/consumers/${UUID}/tracer/`, 'tracer'], [`/systems/${UUID}/deb_package_profile`, 'deb_package_profile'], [`/systems/${UUID}/enabled_repos`, 'enabled_repos'], [`/consumers/${UUID}`, 'facts']] as const) {
    t.strictSame(classifyRhsmRoute('PUT', path), { consumerUuid: UUID, upload: kind }, `PUT ${path}`);
    t.equal(classifyRhsmRoute('GET', path).upload, undefined, `GET ${path} is synchronous`);
  }
  for (const path of [`/consumers/${UUID}/certificates`, `/consumers/${UUID}/content_overrides`, `/consumers/${UUID}/checkin`, '/hypervisors/ACME']) t.equal(classifyRhsmRoute('PUT', path).upload, undefined, `PUT ${path} is synchronous`);
  t.equal(coalesceSlot('packages'), 'profile', '/packages and /profile are one route');
  t.equal(coalesceSlot('profiles'), 'profiles');
  t.equal(uploadPath('deb_package_profile', UUID), `/rhsm/systems/${UUID}/deb_package_profile`);
  t.equal(uploadPath('facts', UUID), `/rhsm/consumers/${UUID}`);
});

t.test('the path Katello routes: dot segments resolved, runs of slashes squeezed as Rails does, and still under /rhsm', async (t) => {
  const other = '22222222-aaaa-4bbb-8ccc-000000000002';
  t.equal(katelloPath(`/rhsm//consumers/${other}/certificates/serials`), `/rhsm/consumers/${other}/certificates/serials`);
  t.equal(katelloPath(`/rhsm/consumers//${other}//`), `/rhsm/consumers/${other}/`);
  t.equal(katelloPath(`/rhsm/consumers/x//../${other}`), `/rhsm/consumers/${other}`, 'squeezed before the dot segments are resolved: the empty segment hides nothing');
  t.equal(katelloPath(`/rhsm\\consumers\\${other}`), `/rhsm/consumers/${other}`, 'backslashes are slashes to a URL parser');
  t.equal(katelloPath('/rhsm/%2e%2e/rhsm/status'), '/rhsm/status');
  t.equal(katelloPath('//rhsm/status'), '/rhsm/status', 'a leading // is not read as a host');
  t.equal(katelloPath('/rhsm'), '/rhsm');
  for (const outside of ['/rhsm/../api/v2/hosts', '/rhsmx', '/api//rhsm/status', '//api/rhsm', `/rhsm/consumers/${other}%2Fcertificates`, '/rhsm/consumers%5cx', '/rhsm/consumers/%00', '/rhsm/%%36%33onsumers/x', '/rhsm/consumers/100%']) t.equal(katelloPath(outside), undefined, outside);
  t.equal(katelloPath(`/rhsm/%63onsumers/${other}/%43ertificates/serials`), `/rhsm/consumers/${other}/Certificates/serials`, 'escaped letters read as Apache passes them on');
  t.equal(katelloPath('/rhsm/users/admin%40example.com/owners'), '/rhsm/users/admin%40example.com/owners', 'a reserved character stays escaped');
  t.equal(katelloPath('/rhsm/%2e%2E/rhsm/status'), '/rhsm/status');
  for (const path of [`/rhsm//consumers/${other}/certificates/serials`, `/rhsm/consumers//${other}/certificates/serials`, `/rhsm///systems//${other}//enabled_repos`, `/rhsm/%63onsumers/${other}/certificates/serials`, `/rhsm/%73ystems/${other}/enabled_repos`]) {
    const squeezed = katelloPath(path) as string;
    t.equal(classifyRhsmRoute('GET', squeezed.slice('/rhsm'.length)).consumerUuid, other, `${path} names ${other} once squeezed`);
  }
});

t.test('facts-only: exactly `facts`, an object', async (t) => {
  t.ok(isFactsOnly({ facts: { a: 1 } }));
  for (const body of [{ facts: { a: 1 }, releaseVer: '9' }, { installedProducts: [] }, { facts: [] }, { facts: null }, [], 'facts', null]) t.notOk(isFactsOnly(body), JSON.stringify(body));
});

t.test('headers: an allowlist; no spelling of the certificate header or X-Forwarded-* gets through', async (t) => {
  const kept = rhsmForwardedHeaders({ 'Content-Type': 'application/json', authorization: 'Basic x', X_RHSM_SSL_CLIENT_CERT: otherPem, 'x-rhsm-ssl-client-cert': otherPem, 'ssl-client-cert': otherPem, 'x-forwarded-host': 'evil', 'x-forwarded-for': '10.0.0.1', 'if-modified-since': 'Sat, 05 Dec 2026 01:00:00 GMT', 'x-subscription-manager-version': '1.30', accept: ['application/json', 'text/plain'] });
  t.strictSame(kept, { 'content-type': 'application/json', authorization: 'Basic x', 'if-modified-since': 'Sat, 05 Dec 2026 01:00:00 GMT', 'x-subscription-manager-version': '1.30', accept: 'application/json, text/plain' });
});

t.test('the worker adds the verified certificate once, on one line, and the proxy name', async (t) => {
  t.equal(certificateCn(pem), UUID);
  t.equal(certificateCn('not a certificate'), undefined);
  const call = katelloCallFor({ method: 'GET', path: `/rhsm/consumers/${UUID}/certificates/serials`, query: [], headers: { x_rhsm_ssl_client_cert: otherPem, accept: 'application/json' }, client, deadline: Date.now() + 1000 }, { forwardedHost: undefined }, 1000);
  t.equal(call.path, `/rhsm/consumers/${UUID}/certificates/serials`);
  t.equal(call.headers['x-rhsm-ssl-client-cert'], pem.trim().replace(/\n/g, ' '));
  t.strictSame(Object.keys(call.headers).sort(), ['accept', 'x-forwarded-for', 'x-forwarded-host', 'x-rhsm-ssl-client-cert'], 'a header the ingress should have dropped is dropped here again');
  t.equal(call.headers['x-forwarded-host'], 'capsule.example.com:8443', "unset: the host's own Host");
  t.equal(katelloCallFor({ method: 'GET', path: '/rhsm/status', query: [], headers: {}, client, deadline: 1 }, { forwardedHost: 'lb.example.com' }, 1000).headers['x-forwarded-host'], 'lb.example.com');
  t.throws(() => katelloCallFor({ method: 'GET', path: '/rhsm/../api/v2/hosts', query: [], headers: {}, client, deadline: 1 }, { forwardedHost: undefined }, 1000), /outside \/rhsm/);
  t.throws(() => katelloCallFor({ method: 'GET', path: '/rhsm/consumers/22222222-aaaa-4bbb-8ccc-000000000002', query: [], headers: {}, client, deadline: 1 }, { forwardedHost: undefined }, 1000), { code: 'PROXYHUB_AUTH_HOST_MISMATCH' });
  for (const path of ['/rhsm//consumers/22222222-aaaa-4bbb-8ccc-000000000002/certificates/serials', '/rhsm/consumers//22222222-aaaa-4bbb-8ccc-000000000002/certificates/serials']) {
    t.throws(() => katelloCallFor({ method: 'GET', path, query: [], headers: {}, client, deadline: 1 }, { forwardedHost: undefined }, 1000), { code: 'PROXYHUB_AUTH_HOST_MISMATCH' }, `${path}: another consumer's once Rails squeezes the slashes`);
  }
  t.equal(katelloCallFor({ method: 'GET', path: `/rhsm//consumers//${UUID}/certificates/serials`, query: [], headers: {}, client, deadline: 1 }, { forwardedHost: undefined }, 1000).path, `/rhsm/consumers/${UUID}/certificates/serials`, 'its own, forwarded as classified');
  const upload = uploadCallFor({ kind: 'packages', consumerUuid: UUID, query: [], headers: { authorization: 'Basic x', 'content-type': 'application/json' }, body: '[]', client }, { forwardedHost: undefined }, 5000);
  t.equal(upload.method, 'PUT');
  t.equal(upload.path, `/rhsm/consumers/${UUID}/packages`);
  t.equal(upload.headers.authorization, undefined, 'never credentials from an event');
  t.throws(() => uploadCallFor({ kind: 'profiles', consumerUuid: '22222222-aaaa-4bbb-8ccc-000000000002', query: [], headers: {}, body: '{}', client }, { forwardedHost: undefined }, 5000), { code: 'PROXYHUB_AUTH_HOST_MISMATCH' });
});

t.test("Katello's answer keeps the headers hosts read", async (t) => {
  const answer = answerOf({ status: 410, contentType: 'application/json', location: undefined, headers: { 'content-type': 'application/json', etag: '"1"', 'x-candlepin-version': 'katello/4', server: 'Apache', 'set-cookie': 'x' }, body: Buffer.from('{"deletedId":"x"}') });
  t.strictSame(answer, { status: 410, headers: { 'content-type': 'application/json', etag: '"1"', 'x-candlepin-version': 'katello/4' }, body: Buffer.from('{"deletedId":"x"}').toString('base64') });
});
