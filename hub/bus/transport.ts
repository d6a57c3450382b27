/**
 * What the roles need from a message broker, independent of the protocol: publish with a broker
 * acknowledgement, consume with explicit settlement, request/reply. Nothing above hub/bus imports
 * amqplib or rhea; hub/bus/transport-factory.ts picks the implementation.
 */

/** AMQP 0-9-1 on amqplib (the default) or AMQP 1.0 on rhea. */
export const transportKinds = ['amqp091', 'amqp10'] as const;
export type TransportKind = (typeof transportKinds)[number];

/** An `amqp10(s)://` URL means AMQP 1.0 whatever else is set; otherwise the setting, else 0-9-1. */
export function transportKindOf(url: string, requested: TransportKind | undefined): TransportKind {
  if (/^amqp10s?:\/\//.test(url)) return 'amqp10';
  return requested ?? 'amqp091';
}

/**
 * `amqp10(s)://` names the protocol for proxyhub; amqplib needs the 0-9-1 scheme of the same
 * broker. A comma-separated list of nodes (hub/bus/broker-urls.ts) is rewritten item by item.
 */
export function amqp091UrlOf(url: string): string {
  return url.replace(/(^|,)(\s*)amqp10(s?):\/\//g, '$1$2amqp$3://');
}

export interface OutgoingMessage {
  /** Exchange name; '' is the default exchange, which routes by queue name. */
  readonly exchange: string;
  readonly routingKey: string;
  readonly body: Buffer;
  readonly messageId: string;
  readonly type: string;
  readonly contentType: string;
  /** Epoch seconds, as AMQP carries it. */
  readonly timestamp?: number;
  readonly headers?: Readonly<Record<string, unknown>>;
  /** When true (the default) a message no queue accepts is a failure, not a silent drop. */
  readonly mandatory?: boolean;
  /** For a reply: the request's correlation id. */
  readonly correlationId?: string;
}

export interface Delivery {
  readonly body: Buffer;
  readonly messageId: string | undefined;
  readonly type: string | undefined;
  readonly routingKey: string;
  readonly headers: Readonly<Record<string, unknown>>;
  readonly redelivered: boolean;
  /** Set on RPC requests: where the reply goes, and the id it must carry. */
  readonly replyTo?: string | undefined;
  readonly correlationId?: string | undefined;
  ack(): void;
  /** Back to the queue (counts toward the quorum delivery limit). */
  requeue(): void;
}

export type DeliveryHandler = (delivery: Delivery) => Promise<void>;

export interface ConsumerHandle {
  /** Stops new deliveries; in-flight ones may still be settled. */
  cancel(): Promise<void>;
}

export type BusState = 'connecting' | 'ready' | 'blocked' | 'down' | 'closed';

export interface Publisher {
  readonly state: BusState;
  start(): Promise<void>;
  /** Resolves once the broker confirmed; rejects with a PROXYHUB_BUS_* error otherwise. */
  publish(message: OutgoingMessage): Promise<void>;
  close(): Promise<void>;
}

export interface Consumer {
  readonly state: BusState;
  start(): Promise<void>;
  /** Resolves once consuming (rejects when the queue cannot be consumed now). */
  consume(queue: string, handler: DeliveryHandler, options: { prefetch: number }): Promise<ConsumerHandle>;
  close(): Promise<void>;
}

/** One message taken from a queue without a consumer, for browsing and replaying dead letters. */
export interface BrowsedMessage {
  readonly delivery: Delivery;
  readonly properties: { readonly timestamp?: number; readonly contentType?: string };
}

/**
 * Taking messages out of a queue one by one without a consumer, for operator tools (dead-letter
 * listing and replay). Everything taken and not acked goes back to the queue when the browser
 * closes, so an interrupted tool loses nothing.
 */
export interface QueueBrowser {
  /** Null when the queue has nothing left that this browser has not taken. */
  take(queue: string): Promise<BrowsedMessage | null>;
  messageCount(queue: string): Promise<number>;
  /** Publishes with a broker confirm (mandatory: an unroutable message is an error). */
  publish(message: OutgoingMessage): Promise<void>;
  close(): Promise<void>;
}

/** One message of a stream (an append-only log read from an offset, not a work queue). */
export interface StreamEntry {
  readonly body: Buffer;
  /** Position in the stream; the same for every reader. */
  readonly offset: number;
}

/**
 * Reads a stream from a point in time, then follows it. After a reconnect it resumes after the
 * last offset it saw, so the handler sees each entry once per reader, in order.
 */
export interface StreamReader {
  readonly state: BusState;
  start(): Promise<void>;
  /**
   * Drops the subscription and subscribes again after the last entry seen: for a subscription
   * that stopped delivering without the broker saying so (RabbitMQ has left stream consumers
   * waiting on a member that a node restart replaced).
   */
  resubscribe(): void;
  close(): Promise<void>;
}

export type StreamReaderFactory = (options: { readonly from: Date; readonly onEntry: (entry: StreamEntry) => void }) => StreamReader;

export interface RpcRequest {
  readonly queue: string;
  readonly type: string;
  readonly body: Buffer;
  readonly timeoutMs: number;
  /** W3C trace context, carried as the `traceparent` header (AMQP 1.0: application property). */
  readonly traceparent?: string | undefined;
}

/** The header (0-9-1) and application property (1.0) a message's trace context travels in, as CloudEvents' AMQP binding names it. */
export const TRACEPARENT_HEADER = 'traceparent';

/** Request/reply over the broker (registration and templates). */
export interface RpcClient {
  start(): Promise<void>;
  /** Rejects at once with PROXYHUB_RPC_NO_WORKER when nobody consumes `queue`. */
  request(request: RpcRequest): Promise<Buffer>;
  close(): Promise<void>;
}
