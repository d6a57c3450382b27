/**
 * The one place that picks a transport: AMQP 0-9-1 on amqplib (the default) or AMQP 1.0 on
 * rhea, by the URL scheme (`amqp10://`, `amqp10s://`) or by the configured transport. The
 * composition root asks this for publishers, consumers and RPC clients and never names a class.
 */
import type { Topology } from '../../contracts/topology.ts';
import { addressesFor, type AddressScheme } from './amqp10/addresses.ts';
import { Amqp10Consumer } from './amqp10/consumer.ts';
import { Amqp10Publisher } from './amqp10/publisher.ts';
import { openAmqp10QueueBrowser } from './amqp10/queue-browser.ts';
import { Amqp10RpcClient } from './amqp10/rpc-client.ts';
import { AmqpConsumer } from './amqp091/consumer.ts';
import { AmqpPublisher } from './amqp091/publisher.ts';
import { AmqpRpcClient } from './amqp091/rpc-client.ts';
import type { TopologyScope } from './declare-topology.ts';
import { createLogger, type Logger } from '../log/logger.ts';
import { openQueueBrowser } from './amqp091/queue-browser.ts';
import { RabbitAdmin } from './amqp10/rabbit-admin.ts';
import { amqp091UrlOf, transportKindOf, type Consumer, type QueueBrowser, type Publisher, type RpcClient, type TransportKind } from './transport.ts';

const silentLogger = createLogger('silent');

export interface BusTransportOptions {
  readonly url: string;
  readonly transport?: TransportKind | undefined;
  /** AMQP 1.0 only. @defaultValue rabbitmq3 */
  readonly addressScheme: AddressScheme;
}

interface EndpointOptions {
  /** Shown in the broker's management UI, so operators can tell roles apart. */
  readonly name: string;
  readonly logger: Logger;
}

export interface PublisherOptions extends EndpointOptions {
  readonly topology: Topology;
  readonly scope: TopologyScope;
  readonly confirmTimeoutMs: number;
  readonly maxUnconfirmed: number;
}

export interface ConsumerOptions extends EndpointOptions {
  readonly topology: Topology;
  readonly scope: TopologyScope;
}

export interface RpcClientOptions extends EndpointOptions {
  readonly topology: Topology;
  /** Names this client's reply queue where one is needed. */
  readonly clientId: string;
}

export interface BusTransport {
  readonly kind: TransportKind;
  /** For operator tools (dead-letter browsing): read with the protocol that wrote the headers. */
  openQueueBrowser(): Promise<QueueBrowser>;
  createPublisher(options: PublisherOptions): Publisher;
  createConsumer(options: ConsumerOptions): Consumer;
  createRpcClient(options: RpcClientOptions): RpcClient;
}

export function createBusTransport(options: BusTransportOptions): BusTransport {
  const { url } = options;
  const kind = transportKindOf(url, options.transport);
  const amqp091Url = amqp091UrlOf(url);
  if (kind === 'amqp091') {
    return {
      kind,
      openQueueBrowser: () => openQueueBrowser(amqp091Url),
      createPublisher: (o) => new AmqpPublisher({ url, ...o }),
      createConsumer: (o) => new AmqpConsumer({ url, ...o }),
      createRpcClient: (o) => new AmqpRpcClient({ url, name: o.name, logger: o.logger, exchange: o.topology.rpcExchange }),
    };
  }
  const addresses = addressesFor(options.addressScheme);
  // Each endpoint gets its own side channel, opened on first use, closed with the endpoint.
  const admin = (o: EndpointOptions): { admin?: RabbitAdmin } => (addresses.isRabbitMq ? { admin: new RabbitAdmin({ url, name: `${o.name} (0-9-1 admin)`, logger: o.logger }) } : {});
  return {
    kind,
    openQueueBrowser: () => openAmqp10QueueBrowser({ url, addresses, ...admin({ name: 'proxyhub-dead-letters', logger: silentLogger }) }),
    createPublisher: (o) => new Amqp10Publisher({ url, addresses, ...o, ...admin(o) }),
    createConsumer: (o) => new Amqp10Consumer({ url, addresses, ...o, ...admin(o) }),
    createRpcClient: (o) => new Amqp10RpcClient({ url, addresses, name: o.name, logger: o.logger, replyQueue: o.topology.replyQueue(o.clientId), ...admin(o) }),
  };
}
