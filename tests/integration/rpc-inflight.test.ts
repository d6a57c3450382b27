/**
 * The ingress holds request bodies in memory from the moment it has read them until a worker
 * answers: without a bound per process, many slow registrations or REX updates would exhaust it.
 * Also: what the ingress puts on the broker for Foreman carries only the allowlisted headers.
 * The ingress is built over a real TLS listener with an RPC stand-in that answers when told.
 */
import t from 'tap';
import { httpSettingsFrom } from '../../cli/http-settings.ts';
import type { ForemanRequest } from '../../contracts/rpc/foreman-request.ts';
import { createLogger } from '../../hub/log/logger.ts';
import type { Publisher, RpcClient, RpcRequest } from '../../hub/bus/transport.ts';
import { buildIngressApp } from '../../hub/ingress/app.ts';
import { testConfig, testPrefix } from '../helpers/hub-harness.ts';
import { createTestPki } from '../helpers/pki.ts';
import { tlsClient } from '../helpers/tls-client.ts';
import { waitFor } from '../helpers/wait-for.ts';

const CAP = 16 * 1024;
const pki = createTestPki();
const host = tlsClient(pki, pki.client('host1.example.com'));

interface Held {
  readonly request: RpcRequest;
  answer(body: unknown): void;
}
const held: Held[] = [];
const rpc: RpcClient = {
  start: async () => undefined,
  close: async () => undefined,
  request: (request) => new Promise((resolve) => held.push({ request, answer: (body) => resolve(Buffer.from(JSON.stringify(body))) })),
};
const refuse = (): never => {
  throw new Error('not used');
};
const publisher: Publisher = { state: 'ready', start: async () => undefined, publish: refuse, close: async () => undefined };
const config = testConfig(testPrefix(), 'http://127.0.0.1:9', {
  tls: { cert: pki.server.cert, key: pki.server.key, ca: pki.caCert },
  limits: { ratePerMinute: 0, maxEventLoopDelayMs: 0, maxEventLoopUtilization: 0, rpcInflightBytes: CAP },
});
const app = await buildIngressApp({ publisher, eventsExchange: 'x', logger: createLogger('silent'), instanceId: 'test', limits: config.limits, http: httpSettingsFrom(config), rpc: { client: rpc, queue: 'registration', timeoutMs: 5000 }, policyFiles: { queue: 'openscap', cacheBytes: 0 }, rex: { queue: 'rex' }, relayClients: [] });
const base = `https://127.0.0.1:${(await app.listen({ host: '127.0.0.1', port: 0 })).split(':').at(-1)}`;
/** A failed test leaves nothing waiting for the next one. */
const releaseAll = (): void => {
  for (const waiting of held.splice(0)) waiting.answer({ status: 200, contentType: 'text/plain', body: '' });
};
t.afterEach(releaseAll);
t.teardown(async () => {
  releaseAll();
  await host.close();
  await app.close();
  pki.remove();
});

const foremanOk = { status: 200, contentType: 'text/plain', body: Buffer.from('echo ok\n').toString('base64') };
const rexOk = { status: 200, contentType: 'application/json', body: '{}' };
type Answer = Awaited<ReturnType<typeof host.raw>>;
/** The answer, or a failure as soon as the request reaches the worker stand-in after all. */
async function refusedBeforePublishing(answer: Promise<Answer>, heldBefore: number): Promise<Answer> {
  const published = waitFor(() => held.length > heldBefore, { timeoutMs: 30_000 }).then(() => {
    throw new Error('the request was published despite the cap');
  });
  return Promise.race([answer, published]);
}

/** A body that takes a little over 40 % of the cap once base64-encoded into the request message. */
const body = 'x'.repeat(Math.floor((CAP * 0.42 * 3) / 4));

t.test('registration and template bodies waiting for a worker are capped in bytes: 503 with Retry-After, nothing sent', async (t) => {
  const first = host.raw('POST', `${base}/register`, { headers: { authorization: 'Bearer x', 'content-type': 'application/json' }, body: Buffer.from(body) });
  const second = host.raw('POST', `${base}/unattended/built`, { headers: { 'content-type': 'text/plain' }, body: Buffer.from(body) });
  await waitFor(() => held.length === 2, { what: 'two requests at the worker' });
  const refused = await refusedBeforePublishing(host.raw('POST', `${base}/register`, { headers: { authorization: 'Bearer x', 'content-type': 'application/json' }, body: Buffer.from(body) }), 2);
  t.equal(refused.status, 503, 'a third body would exceed the cap');
  t.ok(Number(refused.headers['retry-after']) > 0, 'with Retry-After');
  t.match(refused.body.toString(), /exit 1\n$/, 'registration still answers a script the shell can act on');
  const template = await refusedBeforePublishing(host.raw('POST', `${base}/unattended/failed`, { headers: { 'content-type': 'text/plain' }, body: Buffer.from(body) }), 2);
  t.equal(template.status, 503, 'templates likewise');
  t.equal(held.length, 2, 'nothing was published for the refused requests');
  const small = host.raw('GET', `${base}/register`, { headers: { authorization: 'Bearer x' } });
  await waitFor(() => held.length === 3, { what: 'a small request still fits' });
  for (const waiting of held.splice(0)) waiting.answer(foremanOk);
  t.same((await Promise.all([first, second, small])).map((r) => r.status), [200, 200, 200]);
  const again = host.raw('POST', `${base}/register`, { headers: { authorization: 'Bearer x', 'content-type': 'application/json' }, body: Buffer.from(body) });
  await waitFor(() => held.length === 1, { what: 'room again once the answers came' });
  held.splice(0)[0]?.answer(foremanOk);
  t.equal((await again).status, 200);
});

t.test('REX update bodies share the same cap, answered as problem+json', async (t) => {
  const update = (uuid: string) => host.raw('POST', `${base}/ssh/jobs/${uuid}/update`, { headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify({ version: '1', updates: [{ type: 'output', content: 'y'.repeat(CAP * 0.4) }] })) });
  const pending = [update('a'), update('b')];
  await waitFor(() => held.length === 2, { what: 'two updates at the worker' });
  const refused = await refusedBeforePublishing(update('c'), 2);
  t.equal(refused.status, 503);
  t.match(String(refused.headers['content-type']), /^application\/problem\+json/);
  t.match(JSON.parse(refused.body.toString()), { code: 'PROXYHUB_RPC_INFLIGHT_LIMIT' });
  t.ok(Number(refused.headers['retry-after']) > 0, 'with Retry-After');
  t.equal(held.length, 2, 'nothing was published for the refused update');
  for (const waiting of held.splice(0)) waiting.answer(rexOk);
  t.same((await Promise.all(pending)).map((r) => r.status), [200, 200]);
});

t.test('what the ingress sends towards Foreman carries only the allowlisted headers', async (t) => {
  const answer = host.raw('GET', `${base}/unattended/provision`, {
    headers: { 'x-forwarded-for': '10.9.8.7', forwarded: 'for=10.9.8.7', 'x-real-ip': '10.9.8.7', 'x-custom': 'y', cookie: 'a=b', 'x-rhn-provisioning-mac-0': 'eth0 52:54:00:00:00:01', 'user-agent': 'anaconda' },
  });
  await waitFor(() => held.length === 1, { what: 'the template request at the worker' });
  const sent = JSON.parse(held[0]?.request.body.toString() ?? '{}') as ForemanRequest;
  t.strictSame(sent.headers, { 'x-rhn-provisioning-mac-0': 'eth0 52:54:00:00:00:01', 'user-agent': 'anaconda' });
  held.splice(0)[0]?.answer(foremanOk);
  t.equal((await answer).status, 200);
});
