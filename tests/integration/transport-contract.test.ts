/**
 * The transport interfaces (hub/bus/transport.ts) as the roles rely on them, against the real
 * broker, for each transport in one run (so the coverage pass sees both): the headers the workers
 * write come back as written, no more than `prefetch` deliveries are ever unsettled (credit over
 * AMQP 1.0, basic.qos over 0-9-1), a requeued delivery comes back marked redelivered, an RPC
 * request nobody serves fails at once, and dead letters are browsed with their headers.
 */
import t, { type Test } from 'tap';
import { deliveryHeaders } from '../../contracts/delivery-headers.ts';
import { isProxyhubError } from '../../contracts/errors.ts';
import { createTopology, queueFeatures, type Topology } from '../../contracts/topology.ts';
import { createLogger } from '../../hub/log/logger.ts';
import { createBusTransport, type BusTransport } from '../../hub/bus/transport-factory.ts';
import { transportKinds, type Consumer, type Delivery, type OutgoingMessage, type Publisher } from '../../hub/bus/transport.ts';
import { AMQP_URL, deleteTopology, queueDepth, testPrefix } from '../helpers/hub-harness.ts';
import { holdsFor, waitFor } from '../helpers/wait-for.ts';

const logger = createLogger(process.env.PROXYHUB_TEST_LOG ?? 'silent');

for (const kind of transportKinds) {
  t.test(kind, async (t) => {
    const prefix = testPrefix();
    const topology = createTopology(prefix);
    const scope = { features: queueFeatures };
    const bus = await createBusTransport({ url: AMQP_URL, transport: kind, addressScheme: 'rabbitmq3' });
    const publisher = bus.createPublisher({ name: `${prefix} publish`, topology, scope, logger, confirmTimeoutMs: 2000, maxUnconfirmed: 100 });
    const consumer = bus.createConsumer({ name: `${prefix} consume`, topology, scope, logger });
    await publisher.start();
    await consumer.start();
    t.teardown(async () => {
      await consumer.close();
      await publisher.close();
      await deleteTopology(prefix);
    });
    await contract(t, { bus, publisher, consumer, topology, prefix });
  });
}

interface Subject {
  readonly bus: BusTransport;
  readonly publisher: Publisher;
  readonly consumer: Consumer;
  readonly topology: Topology;
  readonly prefix: string;
}

async function contract(t: Test, { bus, publisher, consumer, topology, prefix }: Subject): Promise<void> {
  const message = (id: string, overrides: Partial<OutgoingMessage> = {}): OutgoingMessage => ({
    exchange: topology.eventsExchange,
    routingKey: 'report.uploaded.v1',
    body: Buffer.from(JSON.stringify({ id })),
    messageId: id,
    type: 'report.uploaded.v1',
    contentType: 'application/cloudevents+json',
    ...overrides,
  });

  await t.test(`the headers the workers write come back as written`, async (t) => {
    const headers = { [deliveryHeaders.attempt]: 2, [deliveryHeaders.reason]: 'Foreman said 503', [deliveryHeaders.routingKey]: 'facts.uploaded.v1', [deliveryHeaders.upstreamStatus]: 503 };
    await publisher.publish(message('h-1', { exchange: '', routingKey: topology.workQueue('facts'), type: 'facts.uploaded.v1', headers }));
    let received: Delivery | undefined;
    const handle = await consumer.consume(topology.workQueue('facts'), async (delivery) => {
      received = delivery;
      delivery.ack();
    }, { prefetch: 5 });
    const delivery = await waitFor(() => received, { what: 'the delivery' });
    await handle.cancel();
    t.equal(delivery.messageId, 'h-1');
    t.equal(delivery.type, 'facts.uploaded.v1');
    t.same(JSON.parse(delivery.body.toString()), { id: 'h-1' }, 'the body unchanged');
    for (const [name, value] of Object.entries(headers)) t.equal(delivery.headers[name], value, name);
    t.notOk(delivery.redelivered);
  });

  await t.test(`at most prefetch deliveries unsettled; a requeued one comes back redelivered`, async (t) => {
    const ids = Array.from({ length: 10 }, (_, i) => `p-${i}`);
    await Promise.all(ids.map((id) => publisher.publish(message(id))));
    const held: Delivery[] = [];
    const acked = new Set<string>();
    let settleAll = false;
    const handle = await consumer.consume(topology.workQueue('reports'), async (delivery) => {
      if (settleAll) {
        acked.add(delivery.messageId ?? '');
        delivery.ack();
      } else held.push(delivery);
    }, { prefetch: 3 });
    await waitFor(() => held.length === 3, { what: 'three deliveries' });
    t.ok(await holdsFor(() => held.length === 3, 500), 'no fourth while three are unsettled');
    held[0]?.ack();
    acked.add(held[0]?.messageId ?? '');
    await waitFor(() => held.length === 4, { what: 'one more after one was settled' });
    t.ok(await holdsFor(() => held.length === 4, 300), 'exactly one more');
    const requeued = held[1];
    settleAll = true;
    requeued?.requeue();
    for (const delivery of held.slice(2)) {
      acked.add(delivery.messageId ?? '');
      delivery.ack();
    }
    await waitFor(() => acked.size === ids.length, { what: 'every message acked once' });
    await handle.cancel();
    t.same([...acked].sort(), [...ids].sort(), 'every message, none lost');
    t.equal(await queueDepth(topology.workQueue('reports')), 0, 'the queue is empty');
  });

  await t.test(`a requeued delivery is marked redelivered`, async (t) => {
    await publisher.publish(message('r-1'));
    const seen: Delivery[] = [];
    const handle = await consumer.consume(topology.workQueue('reports'), async (delivery) => {
      seen.push(delivery);
      if (seen.length === 1) delivery.requeue();
      else delivery.ack();
    }, { prefetch: 1 });
    await waitFor(() => seen.length === 2, { what: 'the redelivery' });
    await handle.cancel();
    t.equal(seen[1]?.messageId, 'r-1');
    t.notOk(seen[0]?.redelivered, 'first delivery');
    t.ok(seen[1]?.redelivered, 'second delivery is marked redelivered');
  });

  await t.test(`an RPC request nobody consumes fails at once`, async (t) => {
    const rpc = bus.createRpcClient({ name: `${prefix} rpc`, logger, topology, clientId: 'contract' });
    await rpc.start();
    t.teardown(() => rpc.close());
    const started = Date.now();
    const error = await rpc.request({ queue: topology.rpcQueue('registration'), type: 'test', body: Buffer.from('{}'), timeoutMs: 5000 }).catch((e: unknown) => e);
    t.ok(isProxyhubError(error) && error.code === 'PROXYHUB_RPC_NO_WORKER', 'PROXYHUB_RPC_NO_WORKER');
    t.ok(Date.now() - started < 1000, 'without waiting out the timeout');
  });

  await t.test('dead letters are browsed with their headers, and what is not taken back stays', async (t) => {
    const dlq = topology.deadLetterQueue('facts');
    for (const id of ['d-1', 'd-2']) {
      await publisher.publish(message(id, { exchange: topology.deadLetterExchange, routingKey: topology.workQueue('facts'), headers: { [deliveryHeaders.reason]: `reason ${id}`, [deliveryHeaders.attempt]: 4 } }));
    }
    const browser = await bus.openQueueBrowser();
    t.equal(await browser.messageCount(dlq), 2);
    const first = await browser.take(dlq);
    const second = await browser.take(dlq);
    t.equal(await browser.take(dlq), null, 'nothing left that this browser has not taken');
    t.same([first?.delivery.headers[deliveryHeaders.reason], second?.delivery.headers[deliveryHeaders.reason]].sort(), ['reason d-1', 'reason d-2']);
    t.equal(first?.delivery.headers[deliveryHeaders.attempt], 4);
    await browser.publish({ exchange: '', routingKey: topology.workQueue('facts'), body: first?.delivery.body ?? Buffer.alloc(0), messageId: first?.delivery.messageId ?? '', type: 'report.uploaded.v1', contentType: 'application/cloudevents+json', headers: { [deliveryHeaders.replayedAt]: 'now' } });
    first?.delivery.ack();
    await browser.close();
    await waitFor(async () => (await queueDepth(dlq)) === 1, { what: 'the one not replayed back in the dead-letter queue' });
    t.equal(await queueDepth(topology.workQueue('facts')), 1, 'the replayed one is in the work queue');
  });
}
