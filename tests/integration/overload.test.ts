/**
 * Overload without collapse: a closed-loop client that ignores Retry-After drives the ingress past
 * its in-flight limit. Refusals are fast 503s with Retry-After, the uploads it accepts keep
 * flowing at a good share of the unloaded rate (shedding must not feed itself), and once the load
 * stops the next upload is accepted. The deprecated utilisation threshold is set low enough that
 * this load crosses it: it must not shed anything any more.
 * Runs once per transport, AMQP 0-9-1 and AMQP 1.0 (@every-transport; see scripts/test.mjs), and
 * with the machine to itself (@runs-alone): its bounds are latencies under a load of its own.
 */
import { once } from 'node:events';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { runClosedLoop, type ClosedLoopResult } from '../helpers/closed-loop.ts';
import { deleteTopology, startTestHub, testConfig, testPrefix } from '../helpers/hub-harness.ts';
import { waitFor } from '../helpers/wait-for.ts';

const MAX_INFLIGHT = 8;
const prefix = testPrefix();
const config = testConfig(prefix, 'http://127.0.0.1:9', {
  limits: { ratePerMinute: 0, maxEventLoopDelayMs: 0, maxEventLoopUtilization: 0.3, maxInflightRequests: MAX_INFLIGHT },
});
const hub = await startTestHub(config, 'ingress');
t.teardown(async () => {
  await hub.close();
  await deleteTopology(prefix);
});

const ingressUrl = hub.ingressUrl ?? '';
const url = new URL(ingressUrl);
const load = (connections: number, durationMs: number): Promise<ClosedLoopResult> =>
  runClosedLoop({ host: url.hostname, port: Number(url.port), method: 'POST', path: '/api/v2/hosts/facts', body: '{"name": "a.example.com", "facts": {"uptime": "1"}}', connections, durationMs });

t.test('past its limit the ingress refuses fast, keeps accepting, and recovers', async (t) => {
  // Fewer clients than half the limit: nothing may be refused.
  const unloaded = await load(MAX_INFLIGHT / 2, 3000);
  t.strictSame(Object.keys(unloaded.byStatus), ['202'], `unloaded: only 202 (${JSON.stringify(unloaded.byStatus)})`);
  const unloadedRate = unloaded.byStatus['202']?.perSec ?? 0;
  t.ok(unloadedRate > 0, `unloaded: ${unloadedRate.toFixed(0)} accepted/s`);

  const overloaded = await load(MAX_INFLIGHT * 8, 4000);
  const accepted = overloaded.byStatus['202'];
  const refused = overloaded.byStatus['503'];
  t.strictSame(Object.keys(overloaded.byStatus).sort(), ['202', '503'], `overloaded: 202 and 503 only (${JSON.stringify(overloaded.byStatus)})`);
  t.equal(overloaded.errors, 0, 'no connection reset');
  t.ok(refused && refused.count > 0, 'the load went past the limit');
  if (!refused || !accepted) return;
  t.equal(refused.withRetryAfter, refused.count, 'every 503 carries Retry-After');
  t.equal(refused.overloadedCode, refused.count, 'every 503 is PROXYHUB_OVERLOADED');
  // A refusal waits for nothing: well under the confirm timeout (1 s) a queued publish would wait.
  // (The bound allows a busy CI machine's scheduling; the overload benchmark measures the real figure.)
  t.ok(refused.p99Ms < 600, `503 p99 ${refused.p99Ms.toFixed(1)} ms (p50 ${refused.p50Ms.toFixed(1)} ms)`);
  t.ok(accepted.perSec >= 0.3 * unloadedRate, `accepted ${accepted.perSec.toFixed(0)}/s while overloaded, ${unloadedRate.toFixed(0)}/s unloaded`);

  const started = performance.now();
  await waitFor(
    async () => {
      const response = await fetch(`${ingressUrl}/api/v2/hosts/facts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name": "a.example.com", "facts": {}}' });
      return response.status === 202;
    },
    { timeoutMs: 3000, intervalMs: 20, what: 'an upload accepted after the load stopped' },
  );
  t.pass(`accepted again ${(performance.now() - started).toFixed(0)} ms after the load stopped`);
});

t.test('while shedding, health probes still answer and are not counted', async (t) => {
  const upload = () => fetch(`${ingressUrl}/api/v2/hosts/facts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name": "a.example.com", "facts": {}}' });
  // Requests whose bodies never finish arriving hold their slots: exactly the limit of them.
  const answered: string[] = [];
  const held = await Promise.all(
    Array.from({ length: MAX_INFLIGHT }, async () => {
      const socket = connect({ host: url.hostname, port: Number(url.port) });
      await once(socket, 'connect');
      socket.on('data', (chunk: Buffer) => answered.push(chunk.toString('latin1').slice(0, 12)));
      socket.write(`POST /api/v2/hosts/facts HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{`);
      return socket;
    }),
  );
  t.teardown(() => held.forEach((socket) => socket.destroy()));
  // Let the listener read their headers before the probe upload (it would otherwise race them for a slot).
  await sleep(300);
  t.strictSame(answered, [], 'the held requests were all admitted (none refused)');
  const refusal = await upload();
  t.equal(refusal.status, 503, 'with the limit held, an upload is refused');
  t.equal(refusal.headers.get('retry-after'), '1', 'with Retry-After');
  t.equal(((await refusal.json()) as { code?: string }).code, 'PROXYHUB_OVERLOADED');
  for (const probe of ['/healthz', '/healthz?verbose=1']) {
    const health = await fetch(`${ingressUrl}${probe}`);
    await health.arrayBuffer();
    t.equal(health.status, 200, `${probe} answers 200 while uploads are shed`);
  }
  held.forEach((socket) => socket.destroy());
  await waitFor(async () => (await upload()).status === 202, { timeoutMs: 3000, intervalMs: 20, what: 'an upload accepted once the held requests were cut off' });
  t.pass('the held slots came back when their connections closed');
});
