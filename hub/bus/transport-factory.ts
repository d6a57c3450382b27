/**
 * The one place that picks a transport: AMQP 0-9-1 on amqplib (the default) or AMQP 1.0 on
 * rhea, by the URL scheme (`amqp10://`, `amqp10s://`) or by the configured transport. The
 * composition root asks this for publishers, consumers and RPC clients and never names a class.
 */
import type { Topology } from '../../contracts/topology.ts';
import type { AddressScheme } from './amqp10/addresses.ts';
import type { TopologyScope } from './declare-topology.ts';
import type { Logger } from '../log/logger.ts';
import { transportKindOf, type Consumer, type QueueBrowser, type Publisher, type RpcClient, type TransportKind } from './transport.ts';

export interface BusTransportOptions {
  readonly url: string;
  readonly transport?: TransportKind | undefined;
  /** AMQP 1.0 only. @defaultValue rabbitmq3 */
  readonly addressScheme: AddressScheme;
}

export interface EndpointOptions {
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

/**
 * Loads the chosen protocol's client only: a process on AMQP 0-9-1 never carries rhea (about
 * 12 MiB of resident memory), nor one on AMQP 1.0 the 0-9-1 endpoints it does not use.
 */
export async function createBusTransport(options: BusTransportOptions): Promise<BusTransport> {
  const kind = transportKindOf(options.url, options.transport);
  if (kind === 'amqp091') return (await import('./amqp091/bus.ts')).amqp091Transport(options.url);
  return (await import('./amqp10/bus.ts')).amqp10Transport(options.url, options.addressScheme);
}
