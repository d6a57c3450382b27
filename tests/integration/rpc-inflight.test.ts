/**
 * The ingress holds request bodies in memory from the moment it has read them until a worker
 * answers: without a bound per process, many slow registrations or REX updates would exhaust it.
 * Also: what reaches Foreman carries only the allowlisted headers. The whole path is real (TLS
 * ingress, RabbitMQ, the registration worker); only Foreman is stood in for, and it is slow, so
 * that requests stay in flight.
 */
import t from 'tap';
import { startHubWithForeman } from '../helpers/hub-with-foreman.ts';
import { createTestPki } from '../helpers/pki.ts';
import { tlsClient } from '../helpers/tls-client.ts';
import { waitFor } from '../helpers/wait-for.ts';

const CAP = 16 * 1024;
/** Long enough for the refused requests to be sent and answered while the first ones wait. */
const FOREMAN_DELAY_MS = 4000;
const pki = createTestPki();
const host = tlsClient(pki, pki.client('host1.example.com'));
const tls = { cert: pki.server.cert, key: pki.server.key, ca: pki.caCert };
const { hub, foreman } = await startHubWithForeman(t, {
  roles: 'ingress,worker:registration',
  overrides: () => ({ tls, rpcTimeoutMs: 20_000, limits: { ratePerMinute: 0, maxEventLoopDelayMs: 0, maxEventLoopUtilization: 0, rpcInflightBytes: CAP, requestTimeoutMs: 30_000 } }),
});
const base = hub.ingressUrl ?? '';
t.teardown(async () => {
  await host.close();
  pki.remove();
});

type Answer = Awaited<ReturnType<typeof host.raw>>;
/** Requests that reached Foreman so far (answered or still waiting on the injected delay). */
const atForeman = (): number => foreman.received;

/** A body that takes a little over 40 % of the cap once base64-encoded into the request message. */
const body = 'x'.repeat(Math.floor((CAP * 0.42 * 3) / 4));

/** Fills the budget with two slow registrations at Foreman; resolves once both are there. */
async function fillBudget(): Promise<Array<Promise<Answer>>> {
  const before = atForeman();
  const first = host.raw('POST', `${base}/register`, { headers: { authorization: 'Bearer x', 'content-type': 'application/json' }, body: Buffer.from(body) });
  const second = host.raw('POST', `${base}/unattended/built`, { headers: { 'content-type': 'text/plain' }, body: Buffer.from(body) });
  await waitFor(() => atForeman() === before + 2, { what: 'two requests held at the slow Foreman' });
  return [first, second];
}

t.test('registration and template bodies waiting for a worker are capped in bytes: 503 with Retry-After, nothing sent', async (t) => {
  foreman.fault = { delayMs: FOREMAN_DELAY_MS };
  t.teardown(() => {
    foreman.fault = {};
  });
  const held = await fillBudget();
  const reached = atForeman();
  const refused = await host.raw('POST', `${base}/register`, { headers: { authorization: 'Bearer x', 'content-type': 'application/json' }, body: Buffer.from(body) });
  t.equal(refused.status, 503, 'a third body would exceed the cap');
  t.ok(Number(refused.headers['retry-after']) > 0, 'with Retry-After');
  t.match(refused.body.toString(), /exit 1\n$/, 'registration still answers a script the shell can act on');
  const template = await host.raw('POST', `${base}/unattended/failed`, { headers: { 'content-type': 'text/plain' }, body: Buffer.from(body) });
  t.equal(template.status, 503, 'templates likewise');
  const small = host.raw('GET', `${base}/register`, { headers: { authorization: 'Bearer x' } });
  await waitFor(() => atForeman() === reached + 1, { what: 'a small request still fits' });
  t.same((await Promise.all([...held, small])).map((r) => r.status), [200, 200, 200]);
  t.equal(atForeman(), reached + 1, 'the refused requests never reached Foreman');
  foreman.fault = {};
  const again = await host.raw('POST', `${base}/register`, { headers: { authorization: 'Bearer x', 'content-type': 'application/json' }, body: Buffer.from(body) });
  t.equal(again.status, 200, 'room again once the answers came');
});

t.test('REX update bodies share the same budget, answered as problem+json', async (t) => {
  foreman.fault = { delayMs: FOREMAN_DELAY_MS };
  t.teardown(() => {
    foreman.fault = {};
  });
  const held = await fillBudget();
  const update = await host.raw('POST', `${base}/ssh/jobs/a/update`, { headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify({ version: '1', updates: [{ type: 'output', content: 'y'.repeat(CAP * 0.4) }] })) });
  t.equal(update.status, 503);
  t.match(String(update.headers['content-type']), /^application\/problem\+json/);
  t.match(JSON.parse(update.body.toString()), { code: 'PROXYHUB_RPC_INFLIGHT_LIMIT' });
  t.ok(Number(update.headers['retry-after']) > 0, 'with Retry-After');
  t.same((await Promise.all(held)).map((r) => r.status), [200, 200]);
});

t.test('what reaches Foreman carries only the allowlisted headers', async (t) => {
  const answer = await host.raw('GET', `${base}/unattended/provision`, {
    headers: { 'x-forwarded-for': '10.9.8.7', forwarded: 'for=10.9.8.7', 'x-real-ip': '10.9.8.7', 'x-custom': 'y', cookie: 'a=b', 'x-rhn-provisioning-mac-0': 'eth0 52:54:00:00:00:01', 'user-agent': 'anaconda' },
  });
  t.equal(answer.status, 200);
  const received = foreman.requests.filter((r) => r.path === '/unattended/provision').at(-1);
  t.equal(received?.headers['x-rhn-provisioning-mac-0'], 'eth0 52:54:00:00:00:01');
  t.equal(received?.headers['user-agent'], 'anaconda');
  t.equal(received?.headers['x-forwarded-for'], '127.0.0.1', 'the worker sets the client address itself');
  for (const name of ['forwarded', 'x-real-ip', 'x-custom', 'cookie']) t.equal(received?.headers[name], undefined, `${name} is not forwarded`);
});
