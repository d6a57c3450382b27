/**
 * The capability control plane end to end: workers in their own processes announce, the control
 * role's /v2/features, SSE stream and the Foreman refresh push follow; SIGTERM withdraws at once,
 * SIGKILL expires within the bound; one refresh per burst of changes.
 * Runs once per transport, AMQP 0-9-1 and AMQP 1.0 (@every-transport; see scripts/test.mjs).
 */
import t from 'tap';
import { v2FeatureSchema, MISSED_HEARTBEATS, type V2Feature } from '../../contracts/capabilities.ts';
import type { CapabilityChange } from '../../contracts/events/capability.ts';
import { SWEEP_INTERVAL_MS } from '../../hub/control/capability-service.ts';
import { testConfig } from '../helpers/hub-harness.ts';
import { startForemanFor } from '../helpers/hub-with-foreman.ts';
import { openSse, type SseEvent } from '../helpers/sse-client.ts';
import { spawnHubFor, startHubFor, usePrefix } from '../helpers/test-hub.ts';
import { holdsFor, waitFor } from '../helpers/wait-for.ts';

// Hub processes start here one after another; at the parallel suite's outset one start has taken
// over 30 s, and spawnHub waits up to 65 s: tap's 180 s per file would cut such a run short.
t.setTimeout(300_000);

// Short, for quick expiry; not shorter: a child process starved of CPU for a second (CI runs
// many at once) would miss three beats, expire and come back, and every test here would see it.
const HEARTBEAT_MS = 600;
const PROXY_ID = 7;

const changeOf = (event: SseEvent): CapabilityChange => event.data as CapabilityChange;
const isChange = (feature: string, change: string) => (event: SseEvent) => event.event === 'changed' && changeOf(event).feature === feature && changeOf(event).change === change;

/** A JSON answer, by default /v2/features' (the contract itself is checked below). */
async function getJson<T = Partial<Record<string, V2Feature>>>(url: string): Promise<{ status: number; body: T }> {
  const response = await fetch(url);
  return { status: response.status, body: (await response.json()) as T };
}

t.test('workers in other processes appear, leave and expire; Foreman is refreshed once per burst', async (t) => {
  const foreman = await startForemanFor(t);
  const config = testConfig(usePrefix(t), foreman.url, { foreman: { url: foreman.url, timeoutMs: 5000, proxyId: PROXY_ID }, capabilities: { heartbeatMs: HEARTBEAT_MS, refreshDebounceMs: 300 } });
  const control = await startHubFor(t, config, 'control');
  const controlUrl = control.controlUrl as string;
  foreman.smartProxies.set(PROXY_ID, { url: controlUrl, features: {} });

  // No worker yet: the expected features are failed, the rest disabled. Foreman would refuse a
  // proxy with nothing running (and drop what it stored), so it is not asked.
  const empty = await getJson(`${controlUrl}/v2/features`);
  t.equal(empty.body.registration?.state, 'failed');
  t.equal(empty.body.script?.state, 'disabled', 'a feature this deployment does not expect');
  t.strictSame((await getJson(`${controlUrl}/features`)).body, []);

  const sse = await openSse(`${controlUrl}/capabilities/events`);
  t.equal(sse.status, 200);
  t.teardown(() => sse.close());
  const first = await sse.next(() => true);
  t.equal(first.event, 'snapshot', 'a subscriber first gets the full state');
  t.strictSame((first.data as { features: unknown }).features, {});
  t.ok(await holdsFor(() => foreman.refreshes().length === 0, 1000), 'no refresh while nothing runs');

  const reports = await spawnHubFor(t, config, 'worker:reports');
  await sse.next(isChange('reports', 'up'), { what: 'reports up' });
  await waitFor(() => foreman.refreshes().length === 1, { what: 'a refresh once reports runs' });

  const registration = await spawnHubFor(t, config, 'worker:registration');
  await sse.next(isChange('registration', 'up'), { what: 'registration up' });
  await sse.next(isChange('templates', 'up'), { what: 'templates up' });
  const running = await getJson(`${controlUrl}/v2/features`);
  t.equal(running.body.registration?.state, 'running');
  t.strictSame(running.body.registration?.settings, { registration_url: null });
  t.strictSame(running.body.templates?.settings, { template_url: null });
  t.strictSame((await getJson(`${controlUrl}/features`)).body, ['registration', 'reports', 'templates']);
  t.equal(running.body.facts, undefined, 'the facts relay is never offered to Foreman');

  await waitFor(() => foreman.refreshes().length === 2, { what: 'a refresh after the registration worker started' });
  t.ok(await holdsFor(() => foreman.refreshes().length === 2, 1500), 'two features up at once: one refresh');
  t.ok(foreman.refreshes().every((r) => r.status === 200), 'Foreman accepted every refresh');
  t.strictSame(Object.keys(foreman.smartProxies.get(PROXY_ID)?.features ?? {}).sort(), ['Registration', 'Reports', 'Templates'], 'Foreman stored what /v2/features said');

  // SIGTERM: withdrawn at once, not after missed heartbeats.
  let from = sse.events.length;
  await registration.stop('SIGTERM');
  const down = await sse.next(isChange('registration', 'down'), { from, what: 'registration down' });
  t.equal(changeOf(down).cause, 'withdrawn');
  t.equal((await getJson(`${controlUrl}/v2/features`)).body.registration?.state, 'failed', 'an expected feature without a worker is failed');
  await waitFor(() => foreman.refreshes().length === 3, { what: 'a refresh after the worker stopped' });
  t.ok(await holdsFor(() => foreman.refreshes().length === 3, 1500), 'one refresh for the stop');
  t.strictSame(Object.keys(foreman.smartProxies.get(PROXY_ID)?.features ?? {}), ['Reports']);

  // SIGKILL: no withdrawal; expired after missing its heartbeats.
  from = sse.events.length;
  const killedAt = Date.now();
  await reports.stop('SIGKILL');
  const bound = HEARTBEAT_MS * MISSED_HEARTBEATS + SWEEP_INTERVAL_MS;
  const expired = await sse.next(isChange('reports', 'down'), { from, timeoutMs: bound + 2000, what: 'reports expired' });
  t.equal(changeOf(expired).cause, 'expired');
  t.ok(expired.at - killedAt <= bound + 1000, `expired ${expired.at - killedAt} ms after the kill (bound ${bound} ms from the last heartbeat)`);
  t.ok(await holdsFor(() => foreman.refreshes().length === 3, 1000), 'nothing runs now: Foreman keeps its last good state');
});

t.test('/v2/features has the smart-proxy shape, running, failed and disabled alike', async (t) => {
  const foreman = await startForemanFor(t);
  const config = testConfig(usePrefix(t), foreman.url, { features: ['registration', 'templates', 'openscap'], capabilities: { heartbeatMs: HEARTBEAT_MS } });
  const hub = await startHubFor(t, config, 'control,worker:reports');
  const { status, body } = await getJson(`${hub.controlUrl}/v2/features`);
  t.equal(status, 200);
  t.strictSame(Object.keys(body).sort(), ['container_gateway', 'dynflow', 'openscap', 'registration', 'reports', 'script', 'templates']);
  for (const [name, entry] of Object.entries(body as Record<string, Record<string, unknown>>)) {
    t.strictSame(Object.keys(entry).sort(), ['capabilities', 'http_enabled', 'https_enabled', 'settings', 'state'], `${name}: exactly the smart-proxy's fields`);
    t.type(entry.http_enabled, 'boolean');
    t.type(entry.https_enabled, 'boolean');
    t.ok(entry.settings !== null && typeof entry.settings === 'object' && !Array.isArray(entry.settings), `${name}: settings is an object`);
    t.ok(Array.isArray(entry.capabilities), `${name}: capabilities is an array`);
    t.ok(v2FeatureSchema.safeParse(entry).success, `${name}: matches the contract`);
  }
  t.strictSame(body.reports, { http_enabled: true, https_enabled: false, settings: {}, state: 'running', capabilities: [] });
  t.strictSame(body.openscap, { http_enabled: false, https_enabled: false, settings: {}, state: 'failed', capabilities: [] });
  t.strictSame(body.dynflow, { http_enabled: false, https_enabled: false, settings: {}, state: 'disabled', capabilities: [] });
  t.strictSame((await getJson<{ version: string }>(`${hub.controlUrl}/version`)).body, { version: (await getJson<{ version: string }>(`${hub.controlUrl}/version`)).body.version, modules: { reports: '0.1.0' } });
});

t.test('two control replicas: one refresh per burst; the survivor takes over the push', async (t) => {
  const foreman = await startForemanFor(t);
  const config = testConfig(usePrefix(t), foreman.url, { foreman: { url: foreman.url, timeoutMs: 5000, proxyId: PROXY_ID }, capabilities: { heartbeatMs: HEARTBEAT_MS, refreshDebounceMs: 300 } });
  const first = await startHubFor(t, config, 'control');
  const second = await startHubFor(t, config, 'control');
  foreman.smartProxies.set(PROXY_ID, { url: first.controlUrl as string, features: {} });
  // Nothing runs yet, so neither replica refreshes; by the first change both know each other.
  const settled = 0;

  await spawnHubFor(t, config, 'worker:registration');
  await waitFor(() => foreman.refreshes().length === settled + 1, { what: 'one refresh for the new worker' });
  t.ok(await holdsFor(() => foreman.refreshes().length === settled + 1, 1500), 'one refresh, not one per replica');

  // The leader is the live control instance with the smallest id; stop it.
  // Each replica's registry hears of the other through the stream: on a busy machine that can
  // come after the refresh above.
  const controls = await waitFor(async () => {
    const snapshot = await getJson<{ instances: unknown }>(`${first.controlUrl}/capabilities`);
    const found = (snapshot.body.instances as Array<{ instanceId: string; roles: string[]; urls: { control?: string } }>).filter((i) => i.roles.includes('control')).sort((a, b) => a.instanceId.localeCompare(b.instanceId));
    return found.length === 2 && found;
  }, { what: 'both control replicas in the registry' });
  t.equal(controls.length, 2);
  const leader = controls[0]?.urls.control === first.controlUrl ? first : second;
  const survivor = leader === first ? second : first;
  foreman.smartProxies.set(PROXY_ID, { url: survivor.controlUrl as string, features: {} });
  await leader.close();
  await waitFor(() => foreman.refreshes().length === settled + 2, { what: 'the survivor refreshing once as it takes over' });
  await spawnHubFor(t, config, 'worker:reports');
  await waitFor(() => foreman.refreshes().length === settled + 3, { what: 'the survivor pushing the next change' });
  t.ok(await holdsFor(() => foreman.refreshes().length === settled + 3, 1500));
});
