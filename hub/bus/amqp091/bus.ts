/** The AMQP 0-9-1 transport (amqplib), as hub/bus/transport-factory.ts hands it out. */
import type { BusTransport } from '../bus-transport.ts';
import { amqp091UrlOf } from '../transport.ts';
import { AmqpConsumer } from './consumer.ts';
import { AmqpPublisher } from './publisher.ts';
import { openQueueBrowser } from './queue-browser.ts';
import { AmqpRpcClient } from './rpc-client.ts';

export function amqp091Transport(url: string): BusTransport {
  return {
    kind: 'amqp091',
    openQueueBrowser: () => openQueueBrowser(amqp091UrlOf(url)),
    createPublisher: (o) => new AmqpPublisher({ url, ...o }),
    createConsumer: (o) => new AmqpConsumer({ url, ...o }),
    createRpcClient: (o) => new AmqpRpcClient({ url, name: o.name, logger: o.logger, exchange: o.topology.rpcExchange }),
  };
}
