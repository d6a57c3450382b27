/**
 * A list of broker nodes where most are down: every endpoint of both transports still connects,
 * to the one that answers, and publishes with a confirm (hub/bus/broker-urls.ts). The node URL
 * carries a virtual host and a heartbeat, read per node as amqplib reads a URL string.
 * The fault test tests/fault/cluster-node-kill.test.ts covers failover on a real cluster.
 */
import { createServer } from 'node:net';
import t from 'tap';
import { createTopology } from '../../contracts/topology.ts';
import { createBusTransport } from '../../hub/bus/transport-factory.ts';
import { transportKinds } from '../../hub/bus/transport.ts';
import { createLogger } from '../../hub/log/logger.ts';
import { AMQP_URL, deleteTopology, queueDepth, testPrefix } from '../helpers/hub-harness.ts';
import { waitFor } from '../helpers/wait-for.ts';

const logger = createLogger(process.env.PROXYHUB_TEST_LOG ?? 'silent');

/** A loopback port nobody listens on (bound, then let go). */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

const live = new URL(AMQP_URL);
live.pathname = '/%2F';
live.searchParams.set('heartbeat', '7');
const deadNodes = await Promise.all([closedPort(), closedPort()]);
const nodes = [...deadNodes.map((port) => `amqp://guest:guest@127.0.0.1:${port}/%2F`), live.toString()].join(',');

for (const kind of transportKinds) {
  t.test(`${kind}: connects to the node that answers`, async (t) => {
    const prefix = testPrefix();
    const topology = createTopology(prefix);
    const scope = { features: ['facts'] as const };
    const bus = await createBusTransport({ url: nodes, transport: kind, addressScheme: 'rabbitmq3' });
    const publisher = bus.createPublisher({ name: `${prefix} publish`, topology, scope, logger, confirmTimeoutMs: 2000, maxUnconfirmed: 10 });
    const consumer = bus.createConsumer({ name: `${prefix} consume`, topology, scope, logger });
    t.teardown(async () => {
      await consumer.close();
      await publisher.close();
      await deleteTopology(prefix);
    });
    await Promise.all([publisher.start(), consumer.start()]);
    t.equal(publisher.state, 'ready', 'the publisher is up');
    await publisher.publish({ exchange: topology.eventsExchange, routingKey: 'facts.uploaded.v1', body: Buffer.from('{}'), messageId: `${prefix}-1`, type: 'facts.uploaded.v1', contentType: 'application/json' });
    t.equal(await waitFor(() => queueDepth(topology.workQueue('facts'))), 1, 'published with a confirm, through the live node');
    const handle = await consumer.consume(topology.workQueue('facts'), async (delivery) => delivery.ack(), { prefetch: 1 });
    await waitFor(async () => (await queueDepth(topology.workQueue('facts'))) === 0, { what: 'the consumer took it' });
    await handle.cancel();
    t.pass('consumed through the live node');
  });
}
