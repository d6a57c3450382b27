/**
 * Late subscribers and restarts: an SSE or AMQP subscriber that comes late gets the full state
 * first, then changes; `Last-Event-ID` resumes without a snapshot; a control process started
 * while workers run serves the right /v2/features at once, and two replicas agree.
 * Runs once per transport, AMQP 0-9-1 and AMQP 1.0 (@every-transport; see scripts/test.mjs).
 */
import amqplib from 'amqplib';
import t from 'tap';
import type { V2Feature } from '../../contracts/capabilities.ts';
import { createTopology } from '../../contracts/topology.ts';
import type { CapabilityChange } from '../../contracts/events/capability.ts';
import { AMQP_URL, testConfig } from '../helpers/hub-harness.ts';
import { startForemanFor } from '../helpers/hub-with-foreman.ts';
import { openSse, type SseEvent } from '../helpers/sse-client.ts';
import { spawnHubFor, startHubFor, usePrefix } from '../helpers/test-hub.ts';
import { waitFor } from '../helpers/wait-for.ts';

// Hub processes start here one after another; at the parallel suite's outset one start has taken
// over 30 s, and spawnHub waits up to 65 s: tap's 180 s per file would cut such a run short.
t.setTimeout(300_000);

// Short, for quick expiry; not shorter: a child process starved of CPU for a second (CI runs
// many at once) would miss three beats, expire and come back, and every test here would see it.
const HEARTBEAT_MS = 600;
const isChange = (feature: string, change: string) => (event: SseEvent) => event.event === 'changed' && (event.data as CapabilityChange).feature === feature && (event.data as CapabilityChange).change === change;

/** A JSON answer, by default /v2/features'. */
async function getJson<T = Partial<Record<string, V2Feature>>>(url: string): Promise<T> {
  return (await (await fetch(url)).json()) as T;
}

t.test('late subscribers get the state first; a restarted control knows it at once', async (t) => {
  const foreman = await startForemanFor(t);
  const prefix = usePrefix(t);
  const topology = createTopology(prefix);
  const config = testConfig(prefix, foreman.url, { capabilities: { heartbeatMs: HEARTBEAT_MS } });
  let control = await startHubFor(t, config, 'control');
  await spawnHubFor(t, config, 'worker:registration');
  await waitFor(async () => (await getJson<string[]>(`${control.controlUrl}/features`)).includes('registration'), { what: 'registration running' });

  // A late SSE subscriber: the whole state first.
  const late = await openSse(`${control.controlUrl}/capabilities/events`);
  t.teardown(() => late.close());
  const snapshot = await late.next(() => true);
  t.equal(snapshot.event, 'snapshot');
  const state = snapshot.data as { features: Record<string, { state: string }>; instances: Array<{ roles: string[] }> };
  t.equal(state.features.registration?.state, 'running', 'the snapshot holds the running worker');
  t.ok(state.instances.some((i) => i.roles.includes('worker:registration')), 'and its instance');
  late.close();

  // A late AMQP subscriber reads the stream from one expiry window back: every live instance's
  // announcement, then the changes.
  const connection = await amqplib.connect(AMQP_URL);
  t.teardown(() => connection.close().catch(() => undefined));
  const channel = await connection.createChannel();
  await channel.prefetch(100);
  const seen: Array<{ type: string; data: { roles?: string[]; feature?: string; change?: string } }> = [];
  await channel.consume(topology.capabilitiesStream, (message) => {
    if (!message) return;
    seen.push(JSON.parse(message.content.toString()) as (typeof seen)[number]);
    channel.ack(message);
  }, { arguments: { 'x-stream-offset': { '!': 'timestamp', value: Math.floor((Date.now() - 12_000) / 1000) } } });
  await waitFor(() => seen.some((e) => e.type === 'capability.announced.v1' && e.data.roles?.includes('worker:registration')), { what: 'the live worker announcement on the stream' });

  // A change while the SSE subscriber is away: resuming with Last-Event-ID replays just it.
  await spawnHubFor(t, config, 'worker:reports');
  await waitFor(() => seen.some((e) => e.type === 'capability.changed.v1' && e.data.feature === 'reports' && e.data.change === 'up'), { what: 'capability.changed.v1 for reports on the stream' });
  const resumed = await openSse(`${control.controlUrl}/capabilities/events`, { 'last-event-id': snapshot.id as string });
  t.teardown(() => resumed.close());
  const missed = await resumed.next(isChange('reports', 'up'), { what: 'the missed change' });
  t.equal(resumed.events.indexOf(missed), 0, 'no snapshot before the missed change');
  t.notOk(resumed.events.some((e) => e.event === 'snapshot'));
  resumed.close();

  // An unknown id (another process's) gets the full state instead.
  const foreign = await openSse(`${control.controlUrl}/capabilities/events`, { 'last-event-id': 'deadbeef.3' });
  t.equal((await foreign.next(() => true)).event, 'snapshot');
  foreign.close();

  // Restart: the new control replays the stream up to its own marker before it listens.
  const before = await getJson(`${control.controlUrl}/v2/features`);
  await control.close();
  control = await startHubFor(t, config, 'control');
  const after = await getJson(`${control.controlUrl}/v2/features`);
  t.strictSame(after, before, 'the restarted control serves the same /v2/features right away');
  t.equal(after.registration?.state, 'running');
  t.equal(after.reports?.state, 'running');

  // A second replica, started now, agrees.
  const replica = await startHubFor(t, config, 'control');
  t.strictSame(await getJson(`${replica.controlUrl}/v2/features`), after, 'two control replicas agree');
  t.strictSame((await getJson<{ features: unknown }>(`${replica.controlUrl}/capabilities`)).features, (await getJson<{ features: unknown }>(`${control.controlUrl}/capabilities`)).features);
});
