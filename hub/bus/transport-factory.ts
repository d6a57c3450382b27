/**
 * The one place that picks a transport: AMQP 0-9-1 on amqplib (the default) or AMQP 1.0 on
 * rhea, by the URL scheme (`amqp10://`, `amqp10s://`) or by the configured transport. The
 * composition root asks this for publishers, consumers and RPC clients and never names a class.
 */
import type { AddressScheme } from './amqp10/addresses.ts';
import type { BusTransport } from './bus-transport.ts';
import { transportKindOf, type TransportKind } from './transport.ts';

export type { BusTransport, ConsumerOptions, EndpointOptions, PublisherOptions, RpcClientOptions } from './bus-transport.ts';

export interface BusTransportOptions {
  readonly url: string;
  readonly transport?: TransportKind | undefined;
  /** AMQP 1.0 only. @defaultValue rabbitmq3 */
  readonly addressScheme: AddressScheme;
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
