/**
 * Request/reply over AMQP 1.0. AMQP 1.0 has no direct reply-to on RabbitMQ 3.x (and its plugin
 * refuses dynamic nodes), so there each client owns a reply queue declared through 0-9-1: not
 * durable, expiring once unused, re-declared on every connect. Elsewhere a dynamic receiver lets
 * the broker make the node. A request no worker consumes fails at once where the broker can be
 * asked (RabbitMQ); one nobody answers in time fails with a timeout. Replies are settled on
 * arrival: a lost one is harmless, the caller repeats the request.
 */
import { randomUUID } from 'node:crypto';
import type { Connection, Delivery as RheaDelivery, EventContext, ReceiverOptions, Sender } from 'rhea';
import { ProxyhubError, errorMessage } from '../../../contracts/errors.ts';
import type { Addresses } from './addresses.ts';
import { ConsumerCountCache } from '../consumer-count-cache.ts';
import { PendingReplies } from '../pending-replies.ts';
import { RecoveringAmqp10Connection, openReceiver, openSenderTo } from './connection.ts';
import { bodyOf } from './message.ts';
import { STANDARD_FORMAT, encodeMessage } from './message-bytes.ts';
import { outcomeError } from './publisher.ts';
import type { Logger } from '../../log/logger.ts';
import type { RabbitAdmin } from './rabbit-admin.ts';
import { SenderLinks } from './sender-links.ts';
import { TRACEPARENT_HEADER, type RpcClient, type RpcRequest } from '../transport.ts';
import { coalesceWrites } from './write-coalescing.ts';

/** An unused reply queue (its client gone for good) is removed by the broker after this. */
const REPLY_QUEUE_EXPIRES_MS = 5 * 60_000;

export interface Amqp10RpcClientOptions {
  readonly url: string;
  readonly name: string;
  readonly addresses: Addresses;
  readonly logger: Logger;
  /** Where replies arrive, on brokers where the client declares it (RabbitMQ). */
  readonly replyQueue: string;
  readonly admin?: RabbitAdmin;
}

export class Amqp10RpcClient implements RpcClient {
  readonly #connection: RecoveringAmqp10Connection;
  #closed = false;
  #replyTo: string | undefined;
  readonly #senders = new SenderLinks();
  readonly #pending = new PendingReplies();
  readonly #inFlight = new Map<RheaDelivery, string>();
  readonly #consumers = new ConsumerCountCache();
  readonly #options: Amqp10RpcClientOptions;

  constructor(options: Amqp10RpcClientOptions) {
    this.#options = options;
    this.#connection = new RecoveringAmqp10Connection({
      url: options.url,
      name: options.name,
      scheme: options.addresses.scheme,
      logger: options.logger,
      setup: (connection) => this.#setup(connection),
      onDisconnect: () => {
        this.#replyTo = undefined;
        this.#failAll('broker connection lost');
      },
    });
    options.admin?.onForcedClose((reason) => this.#connection.drop(reason));
  }

  async start(): Promise<void> {
    await this.#connection.start();
  }

  async #setup(connection: Connection): Promise<void> {
    const { admin, addresses, replyQueue } = this.#options;
    this.#senders.reset();
    if (admin) await admin.declareReplyQueue(replyQueue, REPLY_QUEUE_EXPIRES_MS);
    const source = admin ? { address: addresses.queue(replyQueue) } : { dynamic: true };
    const receiver = await openReceiver(connection, { source, autoaccept: true, credit_window: 100 } as ReceiverOptions);
    receiver.on('message', (context: EventContext) => {
      const correlationId = context.message?.correlation_id;
      if (context.message && correlationId !== undefined) this.#pending.settle(String(correlationId), bodyOf(context.message));
    });
    this.#replyTo = admin ? addresses.replyTo(replyQueue) : receiver.source.address;
  }

  async request(request: RpcRequest): Promise<Buffer> {
    const { admin } = this.#options;
    if (admin && this.#replyTo !== undefined && !this.#closed && !(await this.#consumers.hasConsumers(request.queue, (queue) => admin.queueInfo(queue).then((info) => info?.consumerCount ?? 0)))) {
      throw new ProxyhubError('PROXYHUB_RPC_NO_WORKER', `no worker consumes ${request.queue}`);
    }
    const replyTo = this.#replyTo;
    if (replyTo === undefined || this.#closed) throw new ProxyhubError('PROXYHUB_BUS_UNAVAILABLE', 'broker is not connected');
    const sender = await this.#senders.get(request.queue, () => this.#attach(request.queue));
    const correlationId = randomUUID();
    const message = { exchange: '', routingKey: request.queue, body: request.body, messageId: correlationId, correlationId, type: request.type, contentType: 'application/json', ...(request.traceparent ? { headers: { [TRACEPARENT_HEADER]: request.traceparent } } : {}) };
    // A send that throws means the link went away between the lookup and the send.
    return this.#pending.wait(
      correlationId,
      request.timeoutMs,
      () => {
        coalesceWrites(sender.connection);
        this.#inFlight.set(sender.send(encodeMessage(message, replyTo), undefined, STANDARD_FORMAT), correlationId);
      },
      'rpc link closed',
    );
  }

  async #attach(queue: string): Promise<Sender> {
    const { admin, addresses } = this.#options;
    if (admin && (await admin.queueInfo(queue)) === undefined) throw new ProxyhubError('PROXYHUB_BUS_UNROUTABLE', `no queue ${queue} on the broker`);
    const connection = this.#connection.current;
    if (!connection) throw new ProxyhubError('PROXYHUB_BUS_UNAVAILABLE', 'broker is not connected');
    const sender = await openSenderTo(connection, addresses.target('', queue)).catch((error: unknown) => {
      throw new ProxyhubError('PROXYHUB_BUS_UNROUTABLE', `the broker refused a link to ${queue}: ${errorMessage(error)}`, { cause: error });
    });
    sender.on('accepted', (context: EventContext) => context.delivery && this.#inFlight.delete(context.delivery));
    for (const outcome of ['released', 'rejected', 'modified'] as const) {
      sender.on(outcome, (context: EventContext) => {
        const correlationId = context.delivery && this.#inFlight.get(context.delivery);
        if (!context.delivery || correlationId === undefined) return;
        this.#inFlight.delete(context.delivery);
        this.#pending.settle(correlationId, outcomeError(context, outcome));
      });
    }
    return sender;
  }

  #failAll(reason: string): void {
    this.#inFlight.clear();
    this.#pending.failAll(reason);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#failAll('rpc client closed');
    await this.#connection.close();
    // Best effort: left behind, the reply queue expires on its own.
    await this.#options.admin?.deleteQueue(this.#options.replyQueue).catch(() => undefined);
    await this.#options.admin?.close();
  }
}

