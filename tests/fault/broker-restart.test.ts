/**
 * A broker restart in the middle of a stream of uploads: every upload answered 202 reaches
 * Foreman; uploads during the outage get 503 with Retry-After quickly; none hangs past a second;
 * publishing and consuming resume on their own.
 * Both transports at once, AMQP 0-9-1 and AMQP 1.0, each hub with its own prefix and Foreman,
 * around one restart (a restart and the settling after it take 20 s). Runs alone (@runs-alone;
 * see scripts/test.mjs): it restarts the broker every other test uses.
 */
import t from 'tap';
import type { TransportKind } from '../../hub/bus/transport.ts';
import { deleteTopology, startTestHub, testConfig, testPrefix } from '../helpers/hub-harness.ts';
import { ensureBrokerRunning, settleAfterRestart, startBroker, stopBroker } from '../helpers/services.ts';
import { TestForeman } from '../helpers/test-foreman.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { uploadStreams } from '../helpers/upload-streams.ts';

const FACTS = '/api/v2/hosts/facts';
const STREAMS = 4;
const TRANSPORTS: readonly TransportKind[] = ['amqp091', 'amqp10'];

const setups = await Promise.all(
  TRANSPORTS.map(async (transport) => {
    const foreman = new TestForeman();
    await foreman.start();
    const prefix = testPrefix();
    const hub = await startTestHub(testConfig(prefix, foreman.url, { transport }));
    return { transport, foreman, prefix, hub };
  }),
);
t.teardown(async () => {
  await ensureBrokerRunning();
  for (const { hub, foreman } of setups) {
    await hub.close();
    await foreman.stop();
  }
  await settleAfterRestart();
  for (const { prefix } of setups) await deleteTopology(prefix);
});

function restartUploads(ingressUrl: string, label: string): ReturnType<typeof uploadStreams> {
  return uploadStreams(ingressUrl, { clients: STREAMS, namePrefix: `restart-${label}`, timeoutMs: 10_000, pauseMs: (status) => (status === 202 ? 0 : 20) });
}

t.test('every 202 survives a broker restart; the outage answers 503 fast (both transports)', async (t) => {
  const loads = setups.map((setup) => ({ ...setup, load: restartUploads(setup.hub.ingressUrl as string, setup.transport) }));
  for (const { transport, load } of loads) await waitFor(() => load.outcomes.filter((o) => o.status === 202).length >= 200, { what: `${transport}: uploads flowing before the restart` });
  await stopBroker();
  for (const { transport, load } of loads) await waitFor(() => load.outcomes.filter((o) => o.status === 503).length >= 20, { what: `${transport}: 503s during the outage` });
  await startBroker();
  const restartedAt = loads.map(({ load }) => load.outcomes.length);
  for (const [i, { transport, load }] of loads.entries()) {
    await waitFor(() => load.outcomes.slice(restartedAt[i]).filter((o) => o.status === 202).length >= 200, { timeoutMs: 30_000, what: `${transport}: uploads accepted again after the restart` });
  }
  for (const { load } of loads) await load.stop();

  for (const { transport, foreman, load } of loads) {
    const { outcomes } = load;
    const accepted = outcomes.filter((o) => o.status === 202);
    const refused = outcomes.filter((o) => o.status !== 202);
    t.ok(refused.length >= 20, `${transport}: the outage was seen (${refused.length} refused, ${accepted.length} accepted)`);
    t.same([...new Set(refused.map((o) => o.status))], [503], `${transport}: every refusal is a 503, no connection errors`);
    t.ok(refused.every((o) => o.retryAfter !== null && Number(o.retryAfter) > 0), `${transport}: every 503 carries Retry-After`);
    const slowest = Math.max(...outcomes.map((o) => o.ms));
    t.ok(slowest < 1000, `${transport}: no upload hung past a second (slowest ${slowest.toFixed(0)} ms)`);

    const wanted = new Set(accepted.map((o) => o.name));
    await waitFor(
      () => {
        const delivered = new Set(foreman.delivered(FACTS).map((r) => (r.body as { name: string }).name));
        return [...wanted].every((name) => delivered.has(name));
      },
      { timeoutMs: 60_000, what: `${transport}: every accepted upload at Foreman` },
    );
    const deliveredNames = foreman.delivered(FACTS).map((r) => (r.body as { name: string }).name);
    const delivered = new Set(deliveredNames);
    t.equal([...wanted].filter((name) => !delivered.has(name)).length, 0, `${transport}: all ${wanted.size} accepted uploads delivered`);
    t.ok(deliveredNames.length - delivered.size <= 32 * 2, `${transport}: duplicates bounded by in-flight work (${deliveredNames.length - delivered.size})`);
  }
});
