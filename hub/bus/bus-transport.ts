/**
 * What a transport hands the composition root: publishers, consumers, RPC clients and a queue
 * browser, with the options each takes. Types only, shared by the factory and both protocols.
 */
import type { Topology } from '../../contracts/topology.ts';
import type { TopologyScope } from './declare-topology.ts';
import type { Logger } from '../log/logger.ts';
import type { Consumer, QueueBrowser, Publisher, RpcClient, TransportKind } from './transport.ts';

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
