/**
 * The other ways Foreman fails: 5xx answers, answers slower than the call deadline, and refused
 * connections. Each is transient: retried with growing delays, then delivered exactly once.
 */
import t from 'tap';
import { queueDepth } from '../helpers/hub-harness.ts';
import { startHubWithForeman } from '../helpers/hub-with-foreman.ts';
import { holdsFor, waitFor } from '../helpers/wait-for.ts';

const FACTS = '/api/v2/hosts/facts';
const { foreman, hub, topology } = await startHubWithForeman(t, { overrides: (url) => ({ foreman: { url, timeoutMs: 300 } }) });

async function upload(name: string): Promise<void> {
  const response = await fetch(`${hub.ingressUrl}${FACTS}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, facts: {} }) });
  if (response.status !== 202) throw new Error(`upload answered ${response.status}`);
}

const deliveredNamed = (name: string) => foreman.delivered(FACTS).filter((r) => (r.body as { name: string }).name === name);
const attemptsNamed = (name: string) => foreman.requests.filter((r) => r.path === FACTS && (r.body as { name: string }).name === name);

t.test('503 from Foreman is retried with growing delays, then delivered once', async (t) => {
  foreman.fault = { status: 503 };
  await upload('busy.example.com');
  await waitFor(() => attemptsNamed('busy.example.com').length >= 3, { what: 'three attempts' });
  foreman.fault = {};
  await waitFor(() => deliveredNamed('busy.example.com').length === 1, { what: 'delivery after 503s' });
  const times = attemptsNamed('busy.example.com').map((r) => r.at);
  const gaps = times.slice(1).map((at, i) => at - (times[i] as number));
  // Each retry waits at least its tier (200, 400, 800 ms); the Foreman pause can only add to that.
  t.ok(gaps.every((gap) => gap >= 150), `no hot loop: gaps ${gaps.join(', ')} ms`);
  t.ok((times[3] ?? Infinity) - (times[0] ?? 0) >= 200 + 400 + 800 - 150, 'the delays grow tier by tier');
  t.equal(deliveredNamed('busy.example.com').length, 1, 'delivered exactly once');
});

t.test('a Foreman slower than the call deadline is retried, not waited on forever', async (t) => {
  foreman.fault = { delayMs: 1000 };
  await upload('slow.example.com');
  // Foreman records a request when it answers; the hub gave up on each after 300 ms and retried.
  await waitFor(() => attemptsNamed('slow.example.com').length >= 2, { what: 'a retry of the timed-out call' });
  foreman.fault = {};
  const clearedAt = Date.now();
  // A call made once Foreman is fast again (answers to the earlier slow calls land late too).
  await waitFor(() => deliveredNamed('slow.example.com').some((r) => r.arrivedAt >= clearedAt), { timeoutMs: 30_000, what: 'a call made after Foreman sped up' });
  const retried = attemptsNamed('slow.example.com').filter((r) => r.arrivedAt < clearedAt);
  t.ok(retried.length >= 2, `the call that timed out was made again (${retried.length} calls landed; a slow facts upload may land twice: at-least-once)`);
  t.equal(await queueDepth(topology.deadLetterQueue('facts')), 0, 'a slow Foreman is not a reason to dead-letter');
});

t.test('403 (this proxy not authorized yet) pauses and retries instead of dead-lettering', async (t) => {
  foreman.fault = { status: 403 };
  await upload('unauthorized.example.com');
  await waitFor(() => attemptsNamed('unauthorized.example.com').length >= 2, { what: 'a retry after 403' });
  t.equal(await queueDepth(topology.deadLetterQueue('facts')), 0, 'nothing dead-lettered while Foreman refuses the proxy');
  foreman.fault = {};
  await waitFor(() => deliveredNamed('unauthorized.example.com').length === 1, { what: 'delivery once Foreman accepts the proxy' });
});

t.test('refused connections are retried until Foreman listens again', async (t) => {
  await foreman.stop();
  await upload('refused.example.com');
  t.ok(await holdsFor(() => deliveredNamed('refused.example.com').length === 0, 1500), 'nothing can be delivered while refused');
  await foreman.start();
  await waitFor(() => deliveredNamed('refused.example.com').length === 1, { what: 'delivery after refusal' });
  t.equal(await queueDepth(topology.deadLetterQueue('facts')), 0, 'transient failures never dead-letter');
});
