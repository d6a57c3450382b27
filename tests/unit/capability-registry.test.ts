/**
 * The registry and the smart-proxy views built from it: aggregation across instances, ordering by
 * sequence, withdrawals that a late heartbeat cannot undo, expiry, and the change kinds.
 */
import t from 'tap';
import type { FeatureAnnouncement } from '../../contracts/capabilities.ts';
import type { CapabilityAnnouncement } from '../../contracts/events/capability.ts';
import { capabilityAnnouncedV1 } from '../../contracts/events/capability.ts';
import { CapabilityRegistry } from '../../hub/control/capability-registry.ts';
import { foremanDigest, runningFeatures, v2Features, versionModules } from '../../hub/control/smart-proxy-features.ts';
import { announcementsFor } from '../../workers/capabilities.ts';

function feature(name: FeatureAnnouncement['name'], overrides: Partial<FeatureAnnouncement> = {}): FeatureAnnouncement {
  return { name, state: 'running', settings: {}, capabilities: [], ...overrides };
}

function makeAnnouncement(overrides: Partial<CapabilityAnnouncement> = {}): CapabilityAnnouncement {
  return {
    instanceId: 'worker-a',
    roles: ['worker:reports'],
    version: '0.1.0',
    hostname: 'host-a',
    startedAt: '2026-01-01T00:00:00.000Z',
    sequence: 1,
    heartbeatMs: 1000,
    urls: {},
    features: [feature('reports')],
    ...overrides,
  };
}

t.test('an announcement brings its features up; a heartbeat changes nothing', async (t) => {
  const registry = new CapabilityRegistry();
  const changes = registry.announce(makeAnnouncement(), 0, 'e1');
  t.strictSame(changes.map((c) => [c.change.feature, c.change.change, c.change.cause]), [['reports', 'up', 'announced']]);
  t.same(changes[0]?.change.current, { state: 'running', settings: {}, capabilities: [], version: '0.1.0', instances: ['worker-a'] });
  t.equal(changes[0]?.change.previous, null);
  t.strictSame(registry.announce(makeAnnouncement({ sequence: 2 }), 500, 'e2'), [], 'same state: no change');
  t.strictSame(registry.announce(makeAnnouncement({ sequence: 1, features: [] }), 600, 'e0'), [], 'an older announcement is ignored');
});

t.test('instances missing three heartbeats expire; a withdrawal is at once and final', async (t) => {
  const registry = new CapabilityRegistry();
  registry.announce(makeAnnouncement(), 0, 'e1');
  t.strictSame(registry.expire(2999), [], 'still within 3 × heartbeat');
  const expired = registry.expire(3000);
  t.strictSame(expired.map((c) => [c.change.feature, c.change.change, c.change.cause, c.cause.key]), [['reports', 'down', 'expired', 'worker-a#1']]);
  t.equal(registry.instances().length, 0);

  registry.announce(makeAnnouncement({ instanceId: 'worker-b', sequence: 5 }), 4000, 'e2');
  const withdrawn = registry.withdraw('worker-b', 6, 4100, 'w1');
  t.strictSame(withdrawn.map((c) => [c.change.feature, c.change.change, c.change.cause]), [['reports', 'down', 'withdrawn']]);
  t.strictSame(registry.announce(makeAnnouncement({ instanceId: 'worker-b', sequence: 5 }), 4200, 'late'), [], 'a heartbeat sent before the withdrawal does not revive it');
});

t.test('several instances: running wins, settings of the newest, capabilities of all running ones', async (t) => {
  const registry = new CapabilityRegistry();
  registry.announce(makeAnnouncement({ instanceId: 'a', startedAt: '2026-01-01T00:00:00.000Z', features: [feature('script', { settings: { v: 1 }, capabilities: ['ssh'] })] }), 0, 'a1');
  registry.announce(makeAnnouncement({ instanceId: 'b', startedAt: '2026-01-02T00:00:00.000Z', features: [feature('script', { settings: { v: 2 }, capabilities: ['cockpit', 'ssh'] })] }), 0, 'b1');
  registry.announce(makeAnnouncement({ instanceId: 'c', startedAt: '2026-01-03T00:00:00.000Z', features: [feature('script', { state: 'failed', settings: { v: 3 } })] }), 0, 'c1');
  t.same(registry.features().get('script'), { state: 'running', settings: { v: 2 }, capabilities: ['cockpit', 'ssh'], version: '0.1.0', instances: ['a', 'b', 'c'] });
  const down = registry.withdraw('b', 2, 10, 'wb');
  t.strictSame(down.map((c) => c.change.change), ['updated'], 'still running on a: settings changed');
  t.same(registry.features().get('script')?.settings, { v: 1 });
  t.strictSame(registry.withdraw('a', 2, 20, 'wa').map((c) => [c.change.change, c.change.current?.state]), [['down', 'failed']], 'only a failed instance left: down');
});

t.test('/v2/features, /features and /version follow the smart-proxy', async (t) => {
  const registry = new CapabilityRegistry();
  registry.announce(makeAnnouncement({ version: '3.0.0-develop', features: announcementsFor(['facts', 'registration'], { registrationUrl: 'https://proxy:8443', templateUrl: undefined, rexMode: 'ssh' }) }), 0, 'e1');
  const views = registry.features();
  t.strictSame(runningFeatures(views), ['registration', 'templates'], 'facts is never a smart-proxy feature');
  t.strictSame(versionModules(views), { registration: '3.0.0', templates: '3.0.0' }, '-develop is stripped as the smart-proxy does');
  const v2 = v2Features(views, ['registration', 'reports'], true);
  t.strictSame(Object.keys(v2), ['container_gateway', 'dynflow', 'openscap', 'registration', 'reports', 'script', 'templates']);
  t.strictSame(v2.registration, { http_enabled: false, https_enabled: true, settings: { registration_url: 'https://proxy:8443' }, state: 'running', capabilities: [] });
  t.strictSame(v2.templates?.settings, { template_url: null }, 'an unset setting is null');
  t.equal(v2.reports?.state, 'failed', 'expected, no worker');
  t.equal(v2.openscap?.state, 'disabled', 'not expected, no worker');
  const digest = foremanDigest(views);
  registry.announce(makeAnnouncement({ instanceId: 'facts-only', features: [feature('facts')] }), 0, 'e2');
  t.equal(foremanDigest(registry.features()), digest, 'a change Foreman does not store does not refresh it');
});

t.test('announcements every worker feature makes satisfy the event contract', async (t) => {
  const announcement = makeAnnouncement({ features: announcementsFor(['facts', 'reports', 'openscap', 'registration', 'rex', 'container_gateway', 'rhsm'], { registrationUrl: undefined, templateUrl: 'https://proxy:8443', rexMode: 'pull-mqtt' }) });
  t.ok(capabilityAnnouncedV1.data.safeParse(announcement).success);
  t.strictSame(announcement.features.map((f) => f.name), ['container_gateway', 'dynflow', 'facts', 'openscap', 'registration', 'reports', 'rhsm', 'script', 'templates']);
});

t.test('after the registry was cut off, instances get a fresh window instead of expiring for the gap', async (t) => {
  const registry = new CapabilityRegistry();
  registry.announce(makeAnnouncement(), 0, 'e1');
  registry.extendAll(10_000);
  t.strictSame(registry.expire(12_999), [], 'within a full window after reconnecting');
  t.equal(registry.expire(13_000).length, 1, 'then expired as usual');
});
