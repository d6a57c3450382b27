/**
 * A capability subscription that stops delivering without the broker saying so (RabbitMQ has left
 * stream consumers waiting on a member that a node restart replaced) must not make the control
 * role expire every worker and tell Foreman their features went down. The registry expires a
 * silent instance only once the stream is shown to deliver (an entry read within the last second,
 * or this reader's own marker coming back); a marker that does not come back renews the
 * subscription instead. Against the real broker; the hang is injected into the reader's delivery,
 * the one part of the broker's behaviour a test cannot bring about on demand. A hung consumer is
 * handed nothing, so its renewal reads the entries of the hang after all; the injection holds
 * them back and hands them on at the renewal to match (the reader itself has moved past them).
 */
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import t from 'tap';
import { createTopology } from '../../contracts/topology.ts';
import { createEvent } from '../../contracts/events/create-event.ts';
import type { CapabilityChange } from '../../contracts/events/capability.ts';
import { createAnnouncer } from '../../cli/capability-announcer.ts';
import { AmqpPublisher } from '../../hub/bus/amqp091/publisher.ts';
import { AmqpStreamReader } from '../../hub/bus/amqp091/stream-reader.ts';
import { encodeEvent } from '../../hub/bus/event-codec.ts';
import type { StreamEntry, StreamReaderFactory } from '../../hub/bus/transport.ts';
import { createCapabilityService } from '../../hub/control/capability-service.ts';
import { AMQP_URL, testConfig } from '../helpers/hub-harness.ts';
import { usePrefix } from '../helpers/test-hub.ts';
import { holdsFor, waitFor } from '../helpers/wait-for.ts';

const HEARTBEAT_MS = 500;
const PROBE_TIMEOUT_MS = 1500;

const prefix = usePrefix(t);
const topology = createTopology(prefix);
const scope = { features: [] };
const config = testConfig(prefix, 'http://127.0.0.1:9');
const warnings: string[] = [];
const logger = pino({ level: 'warn' }, { write: (line: string) => warnings.push(line) });

const publisher = new AmqpPublisher({ url: AMQP_URL, name: `${prefix} hung-stream test`, topology, scope, logger, ...config.publish });
await publisher.start();
t.teardown(() => publisher.close());

// The reader as the control role opens it, with a switch that stops its deliveries: what a hung
// broker-side consumer looks like from here. Renewing the subscription (the reader's own renewal,
// on a new connection) clears it, as renewing clears the real hang.
let hung = false;
let renewals = 0;
const openStream: StreamReaderFactory = ({ from, onEntry }) => {
  const heldBack: StreamEntry[] = [];
  const onDelivered = (entry: StreamEntry): void => {
    if (hung) heldBack.push(entry);
    else onEntry(entry);
  };
  const reader = new AmqpStreamReader({ url: AMQP_URL, name: `${prefix} hung-stream reader`, topology, scope, logger, queue: topology.capabilitiesStream, from, onEntry: onDelivered });
  return {
    get state() {
      return reader.state;
    },
    start: () => reader.start(),
    close: () => reader.close(),
    resubscribe() {
      renewals += 1;
      hung = false;
      reader.resubscribe();
      for (const entry of heldBack.splice(0)) onEntry(entry);
    },
  };
};

const service = createCapabilityService({ openStream, publisher, exchange: topology.capabilitiesExchange, readerId: `${prefix}-reader`, logger, publishChanges: false, probeTimeoutMs: PROBE_TIMEOUT_MS });
const changes: CapabilityChange[] = [];
service.subscribe((record) => changes.push(record.change));
await service.start();
t.teardown(() => service.close());

const announcer = createAnnouncer({ publisher, exchange: topology.capabilitiesExchange, instanceId: `${prefix}-facts`, roles: ['worker:facts'], version: 'test', hostname: 'test', heartbeatMs: HEARTBEAT_MS, logger });
await announcer.update({ features: [{ name: 'facts', state: 'running', settings: {}, capabilities: [] }] });
await announcer.start();
t.teardown(() => announcer.close());

const stateOf = (feature: 'facts' | 'reports'): string | undefined => service.features().get(feature)?.state;
const downs = (feature: string): CapabilityChange[] => changes.filter((change) => change.feature === feature && change.change === 'down');

t.test('a hung subscription is renewed; the workers it could not hear are not expired', async (t) => {
  // A second worker, which stops while the subscription hangs: its withdrawal must count once read.
  const leaving = createAnnouncer({ publisher, exchange: topology.capabilitiesExchange, instanceId: `${prefix}-reports`, roles: ['worker:reports'], version: 'test', hostname: 'test', heartbeatMs: HEARTBEAT_MS, logger });
  await leaving.update({ features: [{ name: 'reports', state: 'running', settings: {}, capabilities: [] }] });
  await leaving.start();
  t.teardown(() => leaving.close());
  await waitFor(() => stateOf('facts') === 'running' && stateOf('reports') === 'running', { what: 'facts and reports running' });
  hung = true;
  await leaving.close();
  // Three heartbeats unheard is the expiry; the marker's wait comes on top.
  await waitFor(() => renewals > 0, { timeoutMs: 3 * HEARTBEAT_MS + PROBE_TIMEOUT_MS + 5000, what: 'the subscription renewed' });
  t.equal(renewals, 1, 'renewed once');
  t.ok(warnings.some((line) => line.includes('renewing the subscription')), 'the renewal is logged with its reason');
  const renewedAt = Date.now();
  await waitFor(() => (service.instances().find((i) => i.announcement.instanceId === `${prefix}-facts`)?.lastSeen ?? 0) > renewedAt, { what: 'heartbeats read again after the renewal' });
  t.same(downs('facts'), [], 'facts never went down');
  t.same(downs('reports').map((change) => change.cause), ['withdrawn'], 'the worker that stopped during the hang went down by its withdrawal, not by expiry');
  t.equal(stateOf('facts'), 'running');
  t.ok(await holdsFor(() => stateOf('facts') === 'running' && renewals === 1, 3 * HEARTBEAT_MS + 500, 100), 'and stays up, with no second renewal');
});

t.test('on a quiet but live stream a silent instance still expires, once the marker came back', async (t) => {
  await announcer.close();
  await waitFor(() => stateOf('facts') === undefined, { what: 'facts withdrawn' });
  // One announcement and then silence: nobody else writes to the stream.
  const silent = createEvent(
    'capability.announced.v1',
    { instanceId: `${prefix}-silent`, roles: ['worker:reports'], version: 'test', hostname: 'test', startedAt: new Date().toISOString(), sequence: 1, heartbeatMs: HEARTBEAT_MS, urls: {}, features: [{ name: 'reports', state: 'running', settings: {}, capabilities: [] }] },
    { source: 'proxyhub/test', id: randomUUID(), subject: `${prefix}-silent` },
  );
  await publisher.publish(encodeEvent(silent, topology.capabilitiesExchange, { mandatory: false }));
  await waitFor(() => stateOf('reports') === 'running', { what: 'reports running' });
  await waitFor(() => downs('reports').length === 2, { timeoutMs: 3 * HEARTBEAT_MS + PROBE_TIMEOUT_MS + 5000, what: 'reports expired' });
  t.equal(downs('reports')[1]?.cause, 'expired');
  t.equal(renewals, 1, 'no renewal: the marker came back');
});
