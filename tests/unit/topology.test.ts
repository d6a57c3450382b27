/**
 * Every broker and Redis name comes from one prefix, and the queue arguments that the broker
 * refuses to change later (quorum type, delivery limit, dead-lettering) are right from the start.
 */
import t from 'tap';
import { isEventType } from '../../contracts/events/registry.ts';
import {
  CREATION_ONLY_ARGUMENTS,
  QUEUE_REPLICAS,
  QUORUM_DELIVERY_LIMIT,
  capabilityStreamArguments,
  createTopology,
  deadLetterQueueArguments,
  featureBindings,
  queueFeatures,
  retryQueueArguments,
  rpcQueueArguments,
  workQueueArguments,
  type Topology,
} from '../../contracts/topology.ts';

const DELAYS = [1000, 60_000];

/** Every name a topology hands out for the known features and a few delay tiers. */
function allNames(topology: Topology): string[] {
  return [
    topology.eventsExchange,
    topology.outcomesExchange,
    topology.deadLetterExchange,
    ...queueFeatures.flatMap((feature) => [
      topology.workQueue(feature),
      topology.deadLetterQueue(feature),
      topology.deliveredKey(feature, 'event-1'),
      topology.claimKey(feature, 'event-1'),
      ...DELAYS.map((delay) => topology.retryQueue(feature, delay)),
    ]),
  ];
}

t.test('names are derived from the prefix', async (t) => {
  const topology = createTopology('px-1');
  t.equal(topology.prefix, 'px-1');
  t.equal(topology.eventsExchange, 'px-1.events');
  t.equal(topology.outcomesExchange, 'px-1.outcomes');
  t.equal(topology.deadLetterExchange, 'px-1.dead-letter');
  t.equal(topology.workQueue('facts'), 'px-1.facts');
  t.equal(topology.deadLetterQueue('facts'), 'px-1.facts.dlq');
  t.equal(topology.retryQueue('reports', 2000), 'px-1.reports.retry.2000ms');
  t.equal(topology.deliveredKey('facts', 'abc'), 'px-1:delivered:facts:abc');
  t.equal(topology.claimKey('facts', 'abc'), 'px-1:delivered:facts:abc:claim', 'the claim sits under the dedup keys (a feature worker account may write only those)');
  for (const name of allNames(topology)) t.ok(name.startsWith('px-1.') || name.startsWith('px-1:'), `${name} is under the prefix`);
  t.ok(Object.isFrozen(topology), 'frozen');
});

t.test('every name is distinct within one topology', async (t) => {
  const names = allNames(createTopology('proxyhub'));
  t.equal(new Set(names).size, names.length);
});

t.test('two prefixes share no name', async (t) => {
  for (const [a, b] of [['alpha', 'beta'], ['px', 'px.facts'], ['px', 'px.reports'], ['test-1', 'test-10']] as const) {
    const left = new Set(allNames(createTopology(a)));
    const shared = allNames(createTopology(b)).filter((name) => left.has(name));
    t.strictSame(shared, [], `${a} / ${b}`);
  }
});

t.test('an invalid prefix is rejected', async (t) => {
  for (const prefix of ['', 'Proxyhub', '-px', '.px', 'px hub', 'px:hub', 'px/hub', 'x'.repeat(64)]) {
    t.throws(() => createTopology(prefix), /prefix .* must match/, JSON.stringify(prefix));
  }
  t.doesNotThrow(() => createTopology('x'.repeat(63)), '63 characters is the limit');
  t.doesNotThrow(() => createTopology('0_a.b-c'));
});

t.test('work queues: quorum, a delivery limit, dead-lettered to the DLX', async (t) => {
  const topology = createTopology('px');
  t.ok(Number.isInteger(QUORUM_DELIVERY_LIMIT) && QUORUM_DELIVERY_LIMIT > 0, 'a positive delivery limit');
  for (const feature of queueFeatures) {
    const args = workQueueArguments(topology, feature);
    t.equal(args['x-queue-type'], 'quorum', `${feature}: quorum queue`);
    t.equal(args['x-delivery-limit'], QUORUM_DELIVERY_LIMIT, `${feature}: x-delivery-limit`);
    t.equal(args['x-dead-letter-exchange'], topology.deadLetterExchange, `${feature}: dead-letter exchange`);
    t.equal(args['x-dead-letter-routing-key'], topology.workQueue(feature), `${feature}: routed to its own DLQ binding`);
    // RabbitMQ ignores at-least-once dead-lettering unless overflow is reject-publish.
    t.equal(args['x-dead-letter-strategy'], 'at-least-once', `${feature}: at-least-once dead-lettering`);
    t.equal(args['x-overflow'], 'reject-publish', `${feature}: reject-publish, which at-least-once needs`);
  }
});

t.test('dead-letter queues: quorum, never dropping by delivery limit', async (t) => {
  const args = deadLetterQueueArguments();
  t.equal(args['x-queue-type'], 'quorum');
  t.notOk('x-delivery-limit' in args, 'browsing requeues; a limit would drop dead letters');
  t.notOk('x-message-ttl' in args, 'dead letters do not expire');
});

t.test('retry queues expire back into the work queue through the default exchange', async (t) => {
  const topology = createTopology('px');
  for (const feature of queueFeatures) {
    for (const delay of DELAYS) {
      const args = retryQueueArguments(topology, feature, delay);
      t.equal(args['x-queue-type'], 'quorum', `${feature}/${delay}: quorum`);
      t.equal(args['x-message-ttl'], delay, `${feature}/${delay}: ttl is the tier`);
      t.equal(args['x-dead-letter-exchange'], '', `${feature}/${delay}: default exchange`);
      t.equal(args['x-dead-letter-routing-key'], topology.workQueue(feature), `${feature}/${delay}: back to ${topology.workQueue(feature)}`);
      t.equal(args['x-dead-letter-strategy'], 'at-least-once');
      t.equal(args['x-overflow'], 'reject-publish');
    }
  }
});

t.test('every feature is bound to registered event types', async (t) => {
  t.strictSame(Object.keys(featureBindings).sort(), [...queueFeatures].sort(), 'one binding list per feature');
  for (const feature of queueFeatures) {
    t.ok(featureBindings[feature].length > 0, `${feature} receives something`);
    for (const type of featureBindings[feature]) t.ok(isEventType(type), `${feature}: ${type} is registered`);
  }
});

t.test('every replicated queue asks for three replicas; the RPC request queues stay on one node', async (t) => {
  const topology = createTopology('px');
  t.equal(QUEUE_REPLICAS, 3, 'three tolerate the loss of one node');
  const replicated = [...queueFeatures.flatMap((feature) => [workQueueArguments(topology, feature), retryQueueArguments(topology, feature, 1000)]), deadLetterQueueArguments()];
  for (const args of replicated) t.equal(args['x-quorum-initial-group-size'], QUEUE_REPLICAS);
  t.equal(capabilityStreamArguments()['x-initial-cluster-size'], QUEUE_REPLICAS, 'the capability stream too');
  t.notOk('x-quorum-initial-group-size' in rpcQueueArguments(), 'RPC requests are worth nothing once the caller gave up: not replicated');
  t.strictSame([...CREATION_ONLY_ARGUMENTS], ['x-quorum-initial-group-size', 'x-initial-cluster-size']);
});
