/**
 * Foreman down for 30 s, then back: everything accepted meanwhile is delivered, exactly once,
 * and the hub probes a down Foreman a bounded number of times instead of once per event.
 * Runs once per transport, AMQP 0-9-1 and AMQP 1.0 (@every-transport; see scripts/test.mjs).
 */
import t from 'tap';
import { queueDepth } from '../helpers/hub-harness.ts';
import { startHubWithForeman } from '../helpers/hub-with-foreman.ts';
import { holdsFor, waitFor } from '../helpers/wait-for.ts';

const OUTAGE_MS = 30_000;
const EVENTS = 120;
const PAUSE_MAX_MS = 5000;
const FACTS = '/api/v2/hosts/facts';

const { foreman, hub, topology, config } = await startHubWithForeman(t, { overrides: () => ({ worker: { retryDelaysMs: [200, 400, 800, 1600, 3200], upstreamPauseMaxMs: PAUSE_MAX_MS, shutdownGraceMs: 2000 } }) });

async function upload(name: string): Promise<number> {
  const response = await fetch(`${hub.ingressUrl}${FACTS}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, facts: { uptime: name } }) });
  return response.status;
}

t.test('uploads during a 30 s Foreman outage are all delivered afterwards, without a retry storm', async (t) => {
  foreman.down();
  const outageStart = Date.now();
  const names = Array.from({ length: EVENTS }, (_, i) => `outage-${i}.example.com`);
  // Half at the start of the outage, the rest spread over it.
  const statuses = await Promise.all(names.slice(0, EVENTS / 2).map(upload));
  for (const name of names.slice(EVENTS / 2)) {
    statuses.push(await upload(name));
    await new Promise((r) => setTimeout(r, (OUTAGE_MS * 0.8) / (EVENTS / 2)));
  }
  t.same(new Set(statuses), new Set([202]), 'the ingress accepts while Foreman is down');
  await new Promise((r) => setTimeout(r, Math.max(0, OUTAGE_MS - (Date.now() - outageStart))));
  const attemptsDuringOutage = foreman.resetConnections;
  foreman.up();
  const backAt = Date.now();

  const delivered = await waitFor(
    () => {
      const requests = foreman.delivered(FACTS);
      return requests.length >= EVENTS && requests;
    },
    { timeoutMs: 30_000, what: 'every upload delivered' },
  );
  const names_ = delivered.map((r) => (r.body as { name: string }).name);
  t.equal(new Set(names_).size, EVENTS, 'every accepted upload reached Foreman');
  t.equal(delivered.length, EVENTS, 'and each once');
  t.ok(await holdsFor(() => foreman.delivered(FACTS).length === EVENTS, 2000), 'with no duplicate afterwards');
  t.ok(Date.now() - backAt < PAUSE_MAX_MS + 10_000, `delivered within a pause of Foreman's return (${Date.now() - backAt} ms)`);
  // One probe per pause (0.5, 1, 2, 4, then 5 s) gives about a dozen over 30 s, after the first
  // wave: the deliveries already in flight when Foreman went away (at most the prefetch) each
  // fail once before the pause holds the rest. A retry loop per event would make thousands.
  // Keep-alive reuse means each attempt is at least one connection.
  const bound = config.worker.prefetch + 15;
  t.ok(attemptsDuringOutage >= 3, `Foreman was probed during the outage (${attemptsDuringOutage} attempts)`);
  t.ok(attemptsDuringOutage <= bound, `no tight retry loop: ${attemptsDuringOutage} attempts (at most ${bound}) for ${EVENTS} events over ${OUTAGE_MS / 1000} s`);
  t.equal(await queueDepth(topology.deadLetterQueue('facts')), 0, 'nothing dead-lettered');
});
