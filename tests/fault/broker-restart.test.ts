/**
 * A broker restart in the middle of a stream of uploads: every upload answered 202 reaches
 * Foreman; uploads during the outage get 503 with Retry-After quickly; none hangs past a second;
 * publishing and consuming resume on their own.
 * Runs once per transport, AMQP 0-9-1 and AMQP 1.0 (@every-transport; see scripts/test.mjs), and
 * alone (@runs-alone): it restarts the broker every other test uses.
 */
import t from 'tap';
import { deleteTopology, startTestHub, testConfig, testPrefix } from '../helpers/hub-harness.ts';
import { ensureBrokerRunning, settleAfterRestart, startBroker, stopBroker } from '../helpers/services.ts';
import { TestForeman } from '../helpers/test-foreman.ts';
import { waitFor } from '../helpers/wait-for.ts';

const FACTS = '/api/v2/hosts/facts';
const STREAMS = 4;

const foreman = new TestForeman();
await foreman.start();
const prefix = testPrefix();
const config = testConfig(prefix, foreman.url);
const hub = await startTestHub(config);
t.teardown(async () => {
  await ensureBrokerRunning();
  await hub.close();
  await foreman.stop();
  await settleAfterRestart();
  await deleteTopology(prefix);
});

interface Outcome {
  readonly name: string;
  readonly status: number;
  readonly ms: number;
  readonly retryAfter: string | null;
}

t.test('every 202 survives a broker restart; the outage answers 503 fast', async (t) => {
  const outcomes: Outcome[] = [];
  let running = true;
  let sequence = 0;
  const stream = async (): Promise<void> => {
    while (running) {
      const name = `restart-${sequence++}.example.com`;
      const started = performance.now();
      let status = 0;
      let retryAfter: string | null = null;
      try {
        const response = await fetch(`${hub.ingressUrl}${FACTS}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, facts: { n: sequence } }), signal: AbortSignal.timeout(10_000) });
        status = response.status;
        retryAfter = response.headers.get('retry-after');
        await response.arrayBuffer();
      } catch {
        status = -1;
      }
      outcomes.push({ name, status, ms: performance.now() - started, retryAfter });
      if (status !== 202) await new Promise((r) => setTimeout(r, 20));
    }
  };
  const streams = Array.from({ length: STREAMS }, stream);
  await waitFor(() => outcomes.filter((o) => o.status === 202).length >= 200, { what: 'uploads flowing before the restart' });
  await stopBroker();
  await waitFor(() => outcomes.filter((o) => o.status === 503).length >= 20, { what: '503s during the outage' });
  await startBroker();
  const restartedAt = outcomes.length;
  await waitFor(() => outcomes.slice(restartedAt).filter((o) => o.status === 202).length >= 200, { timeoutMs: 30_000, what: 'uploads accepted again after the restart' });
  running = false;
  await Promise.all(streams);

  const accepted = outcomes.filter((o) => o.status === 202);
  const refused = outcomes.filter((o) => o.status !== 202);
  t.ok(refused.length >= 20, `the outage was seen (${refused.length} refused, ${accepted.length} accepted)`);
  t.same([...new Set(refused.map((o) => o.status))], [503], 'every refusal is a 503, no connection errors');
  t.ok(refused.every((o) => o.retryAfter !== null && Number(o.retryAfter) > 0), 'every 503 carries Retry-After');
  const slowest = Math.max(...outcomes.map((o) => o.ms));
  t.ok(slowest < 1000, `no upload hung past a second (slowest ${slowest.toFixed(0)} ms)`);

  const wanted = new Set(accepted.map((o) => o.name));
  await waitFor(
    () => {
      const delivered = new Set(foreman.delivered(FACTS).map((r) => (r.body as { name: string }).name));
      return [...wanted].every((name) => delivered.has(name));
    },
    { timeoutMs: 60_000, what: 'every accepted upload at Foreman' },
  );
  const deliveredNames = foreman.delivered(FACTS).map((r) => (r.body as { name: string }).name);
  const delivered = new Set(deliveredNames);
  t.equal([...wanted].filter((name) => !delivered.has(name)).length, 0, `all ${wanted.size} accepted uploads delivered`);
  t.ok(deliveredNames.length - delivered.size <= 32 * 2, `duplicates bounded by in-flight work (${deliveredNames.length - delivered.size})`);
});
