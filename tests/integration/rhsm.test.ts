/**
 * subscription-manager through the ingress (issue 14): `/rhsm` over a TLS ingress to
 * `worker:rhsm`, against the test Foreman's Katello `/rhsm` (tests/helpers/katello-rhsm.ts).
 * Registration with an activation key and with a password, check-ins with a consumer
 * certificate, profile uploads accepted 202 and coalesced into the newest, another host's UUID
 * refused, a client-sent certificate header dropped, Foreman down or slow answered 503 (never
 * 410), Foreman's own 204, 304 and 410 passed through, and bad input refused with nothing sent.
 * Runs once per transport, AMQP 0-9-1 and AMQP 1.0 (@every-transport; see scripts/test.mjs).
 */
import t from 'tap';
import { request } from 'undici';
import { createTopology } from '../../contracts/topology.ts';
import { queueDepth, testConfig } from '../helpers/hub-harness.ts';
import { startHubFor, usePrefix } from '../helpers/test-hub.ts';
import { createTestPki, type CertFiles } from '../helpers/pki.ts';
import { agentsByCertificate } from '../helpers/tls-client.ts';
import { TestForeman } from '../helpers/test-foreman.ts';
import { holdsFor, waitFor } from '../helpers/wait-for.ts';

const pki = createTestPki();
t.teardown(() => pki.remove());
const foreman = new TestForeman();
await foreman.start();
t.teardown(() => foreman.stop());
const katello = foreman.rhsm;

const HOST_A = '11111111-aaaa-4bbb-8ccc-000000000001';
const HOST_B = '22222222-aaaa-4bbb-8ccc-000000000002';
const HOST_GONE = '33333333-aaaa-4bbb-8ccc-000000000003';
const hostA = pki.client(HOST_A);
const hostB = pki.client(HOST_B);
const hostGone = pki.client(HOST_GONE);
katello.nextUuids.push(HOST_A, HOST_B);
katello.identities.set(HOST_A, { cert: pki.read(hostA.cert).toString(), key: 'k' });

const COALESCE_MS = 2500;
const prefix = usePrefix(t);
const base = testConfig(prefix, foreman.url, {});
const config = testConfig(prefix, foreman.url, {
  tls: { cert: pki.server.cert, key: pki.server.key, ca: pki.caCert },
  // The listener's idle timeout (request timeout + 5 s) sits under the /rhsm budget on purpose.
  limits: { ...base.limits, requestTimeoutMs: 1000 },
  rhsm: { forwardedHost: 'capsule.example.com', timeoutMs: 9000, coalesceMs: COALESCE_MS, bodyBytes: 256 * 1024 },
});
const hub = await startHubFor(t, config, 'ingress,worker:rhsm');
const ingress = hub.ingressUrl as string;

const agentFor = agentsByCertificate(t, pki);

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
  readonly json: Record<string, unknown>;
}

type Method = 'GET' | 'PUT' | 'POST' | 'DELETE';
const JSON_HEADERS = { 'content-type': 'application/json', accept: 'application/json', 'x-subscription-manager-version': '1.30.2' };

async function call(method: Method, path: string, options: { cert?: CertFiles; headers?: Record<string, string>; body?: unknown } = {}): Promise<Answer> {
  const body = options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
  const response = await request(`${ingress}${path}`, { method, dispatcher: agentFor(options.cert), headers: { ...JSON_HEADERS, ...options.headers }, ...(body === undefined ? {} : { body }) });
  const text = await response.body.text();
  let json: Record<string, unknown> = {};
  try {
    json = text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
  } catch {
    json = {};
  }
  return { status: response.statusCode, headers: response.headers, text, json };
}

/** Katello's view of a PEM: armour and whitespace stripped. */
const certBody = (pem: string | string[] | undefined): string => String(pem ?? '').replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
const pemOf = (cert: CertFiles): string => pki.read(cert.cert).toString();
const lastRhsm = () => foreman.requests.filter((r) => r.path.startsWith('/rhsm')).at(-1);
const basic = (login: string, password: string): string => `Basic ${Buffer.from(`${login}:${password}`).toString('base64')}`;

t.test('register with an activation key, no certificate: forwarded with the proxy\'s name, and Katello\'s refusals pass through', async (t) => {
  const registered = await call('POST', '/rhsm/consumers?owner=ACME&activation_keys=ak-rhel9', { body: { name: 'a.example.com', type: { label: 'system' }, facts: { 'cpu.cpu(s)': '2' } } });
  t.equal(registered.status, 200);
  t.equal(registered.json.uuid, HOST_A);
  t.equal(certBody((registered.json.idCert as { cert: string }).cert), certBody(pemOf(hostA)), 'the identity certificate comes back whole');
  const seen = lastRhsm();
  t.equal(seen?.headers['x-forwarded-host'], 'capsule.example.com', 'the configured client-facing name');
  t.equal(seen?.headers['x-forwarded-for'], '127.0.0.1');
  t.equal(seen?.headers['x-rhsm-ssl-client-cert'], undefined, 'no certificate to pass');
  t.equal(seen?.headers['x-subscription-manager-version'], '1.30.2');
  t.equal(registered.headers['x-candlepin-version'], 'katello/4.16.0');
  const badKey = await call('POST', '/rhsm/consumers?owner=ACME&activation_keys=nope', { body: { name: 'x', facts: {} } });
  t.equal(badKey.status, 400, "Katello's own 400");
  t.match(badKey.json.displayMessage, /activation keys/);
  const password = await call('POST', '/rhsm/consumers?owner=ACME', { headers: { authorization: basic('admin', 'changeme') }, body: { name: 'b.example.com', facts: {} } });
  t.equal(password.status, 200);
  t.equal(password.json.uuid, HOST_B);
  t.equal(lastRhsm()?.headers.authorization, basic('admin', 'changeme'), 'user credentials pass with the call');
  t.equal((await call('POST', '/rhsm/consumers?owner=ACME', { headers: { authorization: basic('admin', 'wrong') }, body: { name: 'c', facts: {} } })).status, 401);
  const status = await call('GET', '/rhsm/status');
  t.equal(status.status, 200);
  t.same(status.json.managerCapabilities, ['combined_reporting', 'content_access', 'syspurpose']);
});

t.test('check-in with the consumer certificate: the verified PEM goes to Katello, never from a cache; 304 and 204 pass through', async (t) => {
  for (let i = 0; i < 2; i += 1) {
    const serials = await call('GET', `/rhsm/consumers/${HOST_A}/certificates/serials`, { cert: hostA });
    t.equal(serials.status, 200);
    t.same(JSON.parse(serials.text), [{ serial: 4242, id: 4242 }]);
  }
  t.equal(katello.consumers.get(HOST_A)?.checkins, 2, 'both check-ins reached Katello');
  t.equal(certBody(lastRhsm()?.headers['x-rhsm-ssl-client-cert']), certBody(pemOf(hostA)), 'the host certificate, as verified by the ingress');
  t.notOk(String(lastRhsm()?.headers['x-rhsm-ssl-client-cert']).includes('\n'), 'on one line, as Apache sends it');
  const content = await call('GET', `/rhsm/consumers/${HOST_A}/accessible_content`, { cert: hostA });
  t.equal(content.status, 200);
  const lastModified = String(content.headers['last-modified']);
  t.ok(lastModified.length > 0, 'Last-Modified passed on');
  t.ok(content.headers.etag, 'ETag passed on');
  const unchanged = await call('GET', `/rhsm/consumers/${HOST_A}/accessible_content`, { cert: hostA, headers: { 'if-modified-since': lastModified } });
  t.equal(unchanged.status, 304, "Katello's 304");
  t.equal(unchanged.text, '');
  t.equal((await call('GET', `/rhsm/consumers/${HOST_A}`, { cert: hostA })).status, 200);
});

t.test("another host's UUID is refused at the ingress; Katello is not asked", async (t) => {
  const before = foreman.requests.length;
  const refused = await call('GET', `/rhsm/consumers/${HOST_B}`, { cert: hostA });
  t.equal(refused.status, 403);
  t.equal(refused.json.code, 'PROXYHUB_AUTH_HOST_MISMATCH');
  t.match(refused.json.displayMessage, new RegExp(HOST_B));
  t.equal((await call('GET', `/rhsm/consumers/${HOST_B}/certificates/serials`, { cert: hostA })).status, 403, 'the check-in too (Katello has no check there)');
  t.equal((await call('PUT', `/rhsm/consumers/${HOST_B}/profiles`, { cert: hostA, body: { rpm: [] } })).status, 403, 'an upload too');
  t.equal((await call('GET', `/rhsm/pools?consumer=${HOST_B}`, { cert: hostA })).status, 403, 'pools of another consumer');
  t.equal((await call('GET', `/rhsm/consumers/${HOST_A}/../${HOST_B}`, { cert: hostA })).status, 403, 'dot segments resolved first');
  // Rails squeezes runs of slashes before it routes: these are B's check-in to Katello.
  // Foreman's Apache passes the decoded path on: %63onsumers is consumers to Katello.
  for (const path of [`/rhsm//consumers/${HOST_B}/certificates/serials`, `/rhsm/consumers//${HOST_B}/certificates/serials`, `/rhsm//systems//${HOST_B}//enabled_repos`, `/rhsm/%63onsumers/${HOST_B}/certificates/serials`, `/rhsm/%73ystems/${HOST_B}/enabled_repos`]) {
    t.equal((await call('GET', path, { cert: hostA })).status, 403, `${path}: read as Katello routes it`);
  }
  t.equal(foreman.requests.length, before);
  const own = await call('GET', `/rhsm//consumers//${HOST_A}`, { cert: hostA });
  t.equal(own.status, 200, 'its own consumer with doubled slashes');
  t.equal(lastRhsm()?.path, `/rhsm/consumers/${HOST_A}`, 'forwarded as it was classified');
  // A user may read any consumer with credentials (no certificate): Katello decides.
  t.equal((await call('GET', `/rhsm/consumers/${HOST_B}`, { headers: { authorization: basic('admin', 'changeme') } })).status, 200);
});

t.test('a client-sent X_RHSM_SSL_CLIENT_CERT is dropped, in any spelling', async (t) => {
  const forged = pemOf(hostB).trim().replace(/\n/g, ' ');
  const own = await call('GET', `/rhsm/consumers/${HOST_A}`, { cert: hostA, headers: { X_RHSM_SSL_CLIENT_CERT: forged, 'X-Rhsm-Ssl-Client-Cert': forged, 'SSL-CLIENT-CERT': forged, 'x-forwarded-host': 'evil.example.com' } });
  t.equal(own.status, 200);
  const seen = lastRhsm();
  t.equal(certBody(seen?.headers['x-rhsm-ssl-client-cert']), certBody(pemOf(hostA)), 'exactly the verified certificate');
  t.strictSame(Object.keys(seen?.headers ?? {}).filter((name) => /rhsm|ssl/i.test(name)), ['x-rhsm-ssl-client-cert'], 'one copy, no other spelling');
  t.equal(seen?.headers['x-forwarded-host'], 'capsule.example.com', "the host's X-Forwarded-Host is not believed");
  const anonymous = await call('GET', `/rhsm/consumers/${HOST_B}`, { headers: { X_RHSM_SSL_CLIENT_CERT: forged } });
  t.equal(anonymous.status, 401, 'without a certificate the forged header gives nothing: Katello asks for credentials');
  t.equal(lastRhsm()?.headers['x-rhsm-ssl-client-cert'], undefined);
});

t.test('profile uploads: 202 once the broker confirmed, three quick ones coalesced into the newest, delivered once', async (t) => {
  const before = katello.uploads.length;
  const ids: string[] = [];
  const profileOf = (n: number) => [{ content_type: 'rpm', profile: [{ name: 'bash', version: `5.${n}` }] }, { content_type: 'enabled_repos', profile: [] }];
  for (let n = 1; n <= 3; n += 1) {
    const accepted = await call('PUT', `/rhsm/consumers/${HOST_A}/profiles`, { cert: hostA, body: profileOf(n) });
    t.equal(accepted.status, 202, `upload ${n}`);
    ids.push(String(accepted.json.id));
  }
  t.equal(new Set(ids).size, 3, 'one event each');
  await waitFor(() => katello.uploads.length > before, { timeoutMs: 20_000, what: 'the profile delivery' });
  t.ok(await holdsFor(() => katello.uploads.length === before + 1, COALESCE_MS + 1500), 'exactly one delivery');
  const delivered = katello.uploads.at(-1);
  t.equal(delivered?.kind, 'profiles');
  t.same(delivered?.body, profileOf(3), 'the newest one');
  const put = foreman.requests.filter((r) => r.method === 'PUT' && r.path === `/rhsm/consumers/${HOST_A}/profiles`);
  t.equal(put.length, 1);
  t.equal(put[0]?.raw, JSON.stringify(profileOf(3)), 'byte for byte');
  t.equal(certBody(put[0]?.headers['x-rhsm-ssl-client-cert']), certBody(pemOf(hostA)), 'delivered with the host certificate');
  t.equal(put[0]?.headers['x-forwarded-host'], 'capsule.example.com');
});

t.test('facts-only consumer updates, tracer and enabled_repos are async; any other consumer update stays synchronous', async (t) => {
  const before = katello.uploads.length;
  t.equal((await call('PUT', `/rhsm/consumers/${HOST_A}`, { cert: hostA, body: { facts: { 'uname.machine': 'x86_64' } } })).status, 202);
  t.equal((await call('PUT', `/rhsm/consumers/${HOST_A}/tracer`, { cert: hostA, body: { traces: {} } })).status, 202);
  t.equal((await call('PUT', `/rhsm/systems/${HOST_A}/enabled_repos`, { cert: hostA, body: { enabled_repos: { repos: [] } } })).status, 202);
  await waitFor(() => katello.uploads.length >= before + 3, { timeoutMs: 20_000, what: 'three deliveries' });
  t.same(katello.consumers.get(HOST_A)?.facts, { 'uname.machine': 'x86_64' });
  const sync = await call('PUT', `/rhsm/consumers/${HOST_A}`, { cert: hostA, body: { facts: { a: '1' }, releaseVer: '9.4' } });
  t.equal(sync.status, 200, 'release version: the answer is read back in the same run');
  t.same(sync.json, { content: 'Facts successfully updated.' });
  const withPassword = await call('PUT', `/rhsm/consumers/${HOST_B}/profiles`, { headers: { authorization: basic('admin', 'changeme') }, body: { rpm: [] } });
  t.equal(withPassword.status, 200, 'an upload made with a password is synchronous: credentials never wait in a queue');
});

t.test("Foreman's own 410 and 204 pass through; the hub never makes a 410 of its own", async (t) => {
  katello.consumers.set(HOST_GONE, { uuid: HOST_GONE, name: 'gone', owner: 'ACME', facts: {}, checkins: 0, contentModified: new Date() });
  katello.deleted.add(HOST_GONE);
  const gone = await call('GET', `/rhsm/consumers/${HOST_GONE}/certificates/serials`, { cert: hostGone });
  t.equal(gone.status, 410);
  t.equal(gone.json.deletedId, HOST_GONE);
  katello.deleted.delete(HOST_GONE);
  const unregistered = await call('DELETE', `/rhsm/consumers/${HOST_GONE}`, { cert: hostGone });
  t.equal(unregistered.status, 204);
  t.equal(unregistered.text, '');
});

t.test('an accepted upload is retried while Katello fails, and dead-lettered when the consumer is gone', async (t) => {
  const before = katello.uploads.length;
  foreman.fault = { status: 503 };
  t.equal((await call('PUT', `/rhsm/consumers/${HOST_A}/packages`, { cert: hostA, body: [{ name: 'retried' }] })).status, 202, 'accepted while Katello fails');
  await waitFor(() => foreman.requests.some((r) => r.method === 'PUT' && r.path === `/rhsm/consumers/${HOST_A}/packages` && r.status === 503), { timeoutMs: 20_000, what: 'a failed attempt' });
  foreman.fault = {};
  await waitFor(() => katello.uploads.length > before, { timeoutMs: 30_000, what: 'the retried delivery' });
  t.same(katello.uploads.at(-1)?.body, [{ name: 'retried' }]);
  t.ok(await holdsFor(() => katello.uploads.length === before + 1, 1000), 'delivered once');
  // HOST_GONE was unregistered above: Katello answers 410, which no retry can change.
  t.equal((await call('PUT', `/rhsm/consumers/${HOST_GONE}/profiles`, { cert: hostGone, body: [] })).status, 202);
  const dlq = createTopology(prefix).deadLetterQueue('rhsm');
  await waitFor(async () => (await queueDepth(dlq)) === 1, { timeoutMs: 20_000, what: 'the dead letter' });
  t.pass('dead-lettered with Katello\'s 410; the host learns it at its next synchronous call');
});

t.test('Foreman down or slow: 503 with Retry-After and displayMessage, within the /rhsm budget; never 410', async (t) => {
  foreman.down();
  const down = await call('GET', `/rhsm/consumers/${HOST_A}/certificates/serials`, { cert: hostA });
  t.equal(down.status, 503);
  t.equal(down.json.code, 'PROXYHUB_RHSM_UNAVAILABLE');
  t.type(down.json.displayMessage, 'string');
  t.match(down.json.displayMessage, /Katello/);
  t.ok(Number(down.headers['retry-after']) > 0, 'Retry-After');
  foreman.up();
  // Slower than the listener's idle timeout (6 s), within the budget (9 s): Katello's answer.
  foreman.fault = { delayMs: 7000 };
  const slowOk = await call('GET', `/rhsm/consumers/${HOST_A}`, { cert: hostA });
  t.equal(slowOk.status, 200, 'a slow answer inside the budget is not cut off');
  foreman.fault = { delayMs: 12_000 };
  const started = Date.now();
  const slow = await call('GET', `/rhsm/consumers/${HOST_A}`, { cert: hostA });
  t.equal(slow.status, 503);
  t.ok(Date.now() - started < 11_000, `answered within the budget (${Date.now() - started} ms)`);
  t.type(slow.json.displayMessage, 'string');
  foreman.fault = { status: 500 };
  t.equal((await call('GET', `/rhsm/consumers/${HOST_A}`, { cert: hostA })).status, 500, "Katello's own 500 passes through");
  foreman.fault = {};
  await waitFor(() => foreman.inFlight === 0, { timeoutMs: 15_000, what: 'slow answers to finish' });
});

t.test('bad input gets problem+json naming the field; nothing is published', async (t) => {
  const before = katello.uploads.length;
  const oversize = await call('PUT', `/rhsm/consumers/${HOST_A}/packages`, { cert: hostA, body: [{ name: 'x'.repeat(300 * 1024) }] });
  t.equal(oversize.status, 413);
  t.equal(oversize.headers['content-type'], 'application/problem+json; charset=utf-8');
  t.equal(oversize.json.code, 'PROXYHUB_INPUT_TOO_LARGE');
  t.type(oversize.json.displayMessage, 'string');
  const malformed = await call('PUT', `/rhsm/consumers/${HOST_A}/packages`, { cert: hostA, body: '[{"name": "bash"' });
  t.equal(malformed.status, 400);
  t.equal(malformed.json.code, 'PROXYHUB_INPUT_MALFORMED');
  t.same((malformed.json.errors as Array<{ field: string }>)[0]?.field, 'body');
  const scalar = await call('PUT', `/rhsm/consumers/${HOST_A}/profiles`, { cert: hostA, body: '"bash"' });
  t.equal(scalar.status, 400);
  t.equal(scalar.json.code, 'PROXYHUB_INPUT_INVALID');
  const listForObject = await call('PUT', `/rhsm/consumers/${HOST_A}/tracer`, { cert: hostA, body: [] });
  t.equal(listForObject.status, 400, 'the tracer upload is an object');
  const notJson = await call('PUT', `/rhsm/consumers/${HOST_A}/tracer`, { cert: hostA, headers: { 'content-type': 'text/plain' }, body: 'traces' });
  t.equal(notJson.status, 415);
  t.equal((notJson.json.errors as Array<{ field: string }>)[0]?.field, 'content-type');
  const deep = await call('PUT', `/rhsm/consumers/${HOST_A}/profiles`, { cert: hostA, body: `{"rpm":${'['.repeat(100)}${']'.repeat(100)}}` });
  t.equal(deep.status, 400);
  // A good upload after them is the only one delivered: the queue is FIFO, so none was published.
  t.equal((await call('PUT', `/rhsm/consumers/${HOST_A}/packages`, { cert: hostA, body: [{ name: 'good' }] })).status, 202);
  await waitFor(() => katello.uploads.length > before, { timeoutMs: 20_000, what: 'the good upload' });
  t.ok(await holdsFor(() => katello.uploads.length === before + 1, 1000));
  t.same(katello.uploads.at(-1)?.body, [{ name: 'good' }]);
});

t.test('no rhsm worker running: 503 with displayMessage at once', async (t) => {
  const lonePrefix = usePrefix(t);
  const lone = await startHubFor(t, testConfig(lonePrefix, foreman.url, { tls: { cert: pki.server.cert, key: pki.server.key, ca: pki.caCert } }), 'ingress');
  const response = await request(`${lone.ingressUrl as string}/rhsm/status`, { dispatcher: agentFor(hostA) });
  const body = (await response.body.json()) as { displayMessage?: unknown; cause?: unknown };
  t.equal(response.statusCode, 503);
  t.equal(body.cause, 'PROXYHUB_RPC_NO_WORKER');
  t.type(body.displayMessage, 'string');
});
