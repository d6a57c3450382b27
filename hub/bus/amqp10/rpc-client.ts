/**
 * Request/reply over AMQP 1.0. AMQP 1.0 has no direct reply-to on RabbitMQ 3.x (and its plugin
 * refuses dynamic nodes), so there each client owns a reply queue declared through 0-9-1: not
 * durable, expiring once unused, re-declared on every connect. Elsewhere a dynamic receiver lets
 * the broker make the node. A request no worker consumes fails at once where the broker can be
 * asked (RabbitMQ); one nobody answers in time fails with a timeout. Replies are settled on
 * arrival: a lost one is harmless, the caller repeats the request.
 */
import { randomUUID } from 'node:crypto';
import type { Connection, Delivery as RheaDelivery, EventContext, ReceiverOptions, Sender, SenderOptions } from 'rhea';
import { ProxyhubError } from '../../../contracts/errors.ts';
import type { Addresses } from './addresses.ts';
import { RecoveringAmqp10Connection, openReceiver, openSender } from './connection.ts';
import { bodyOf, toRheaMessage } from './message.ts';
import { outcomeError } from './publisher.ts';
import type { Logger } from '../../log/logger.ts';
import type { RabbitAdmin } from './rabbit-admin.ts';
import type { RpcClient, RpcRequest } from '../transport.ts';

const CONSUMER_CHECK_MS = 2000;
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

interface Waiting {
  resolve(body: Buffer): void;
  reject(error: ProxyhubError): void;
  timer: NodeJS.Timeout;
}

export class Amqp10RpcClient implements RpcClient {
  readonly #connection: RecoveringAmqp10Connection;
  #closed = false;
  #replyTo: string | undefined;
  #senders = new Map<string, Promise<Sender>>();
  readonly #waiting = new Map<string, Waiting>();
  readonly #inFlight = new Map<RheaDelivery, string>();
  readonly #consumers = new Map<string, { at: number; count: Promise<number> }>();
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
    this.#senders = new Map();
    if (admin) await admin.declareReplyQueue(replyQueue, REPLY_QUEUE_EXPIRES_MS);
    const source = admin ? { address: addresses.queue(replyQueue) } : { dynamic: true };
    const receiver = await openReceiver(connection, { source, autoaccept: true, credit_window: 100 } as ReceiverOptions);
    receiver.on('message', (context: EventContext) => {
      const correlationId = context.message?.correlation_id;
      if (context.message && correlationId !== undefined) this.#settle(String(correlationId), bodyOf(context.message));
    });
    this.#replyTo = admin ? addresses.replyTo(replyQueue) : receiver.source.address;
  }

  /** Whether anyone consumes the queue; cached briefly so the check costs one round trip now and then. */
  #hasConsumers(admin: RabbitAdmin, queue: string): Promise<boolean> {
    const cached = this.#consumers.get(queue);
    if (cached && Date.now() - cached.at < CONSUMER_CHECK_MS) return cached.count.then((count) => count > 0);
    const count = admin.queueInfo(queue).then(
      (info) => info?.consumerCount ?? 0,
      () => 0,
    );
    this.#consumers.set(queue, { at: Date.now(), count });
    return count.then((n) => n > 0);
  }

  async request(request: RpcRequest): Promise<Buffer> {
    const { admin } = this.#options;
    if (admin && this.#replyTo !== undefined && !this.#closed && !(await this.#hasConsumers(admin, request.queue))) {
      throw new ProxyhubError('PROXYHUB_RPC_NO_WORKER', `no worker consumes ${request.queue}`);
    }
    const replyTo = this.#replyTo;
    if (replyTo === undefined || this.#closed) throw new ProxyhubError('PROXYHUB_BUS_UNAVAILABLE', 'broker is not connected');
    const sender = await this.#senderFor(request.queue);
    const correlationId = randomUUID();
    return new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(correlationId);
        reject(new ProxyhubError('PROXYHUB_RPC_TIMEOUT', `no answer within ${request.timeoutMs} ms`));
      }, request.timeoutMs);
      this.#waiting.set(correlationId, { resolve, reject, timer });
      const message = { exchange: '', routingKey: request.queue, body: request.body, messageId: correlationId, correlationId, type: request.type, contentType: 'application/json' };
      try {
        this.#inFlight.set(sender.send(toRheaMessage(message, replyTo)), correlationId);
      } catch (error) {
        // The link went away between the lookup and the send.
        clearTimeout(timer);
        this.#waiting.delete(correlationId);
        reject(new ProxyhubError('PROXYHUB_BUS_UNAVAILABLE', 'rpc link closed', { cause: error }));
      }
    });
  }

  #senderFor(queue: string): Promise<Sender> {
    let sender = this.#senders.get(queue);
    if (!sender) {
      const senders = this.#senders;
      sender = this.#attach(queue);
      const attached = sender;
      const forget = (): void => {
        if (senders.get(queue) === attached) senders.delete(queue);
      };
      attached.then((link) => link.on('sender_close', forget), forget);
      senders.set(queue, sender);
    }
    return sender;
  }

  async #attach(queue: string): Promise<Sender> {
    const { admin, addresses } = this.#options;
    if (admin && (await admin.queueInfo(queue)) === undefined) throw new ProxyhubError('PROXYHUB_BUS_UNROUTABLE', `no queue ${queue} on the broker`);
    const connection = this.#connection.current;
    if (!connection) throw new ProxyhubError('PROXYHUB_BUS_UNAVAILABLE', 'broker is not connected');
    const sender = await openSender(connection, { target: { address: addresses.target('', queue) }, autosettle: true, treat_modified_as_released: false } as SenderOptions).catch((error: unknown) => {
      throw new ProxyhubError('PROXYHUB_BUS_UNROUTABLE', `the broker refused a link to ${queue}: ${(error as Error).message}`, { cause: error });
    });
    sender.on('accepted', (context: EventContext) => context.delivery && this.#inFlight.delete(context.delivery));
    for (const outcome of ['released', 'rejected', 'modified'] as const) {
      sender.on(outcome, (context: EventContext) => {
        const correlationId = context.delivery && this.#inFlight.get(context.delivery);
        if (!context.delivery || correlationId === undefined) return;
        this.#inFlight.delete(context.delivery);
        this.#settle(correlationId, outcomeError(context, outcome));
      });
    }
    return sender;
  }

  #settle(correlationId: string, outcome: Buffer | ProxyhubError): void {
    const waiting = this.#waiting.get(correlationId);
    if (!waiting) return;
    this.#waiting.delete(correlationId);
    clearTimeout(waiting.timer);
    if (outcome instanceof ProxyhubError) waiting.reject(outcome);
    else waiting.resolve(outcome);
  }

  #failAll(reason: string): void {
    this.#inFlight.clear();
    for (const [id, waiting] of this.#waiting) {
      clearTimeout(waiting.timer);
      waiting.reject(new ProxyhubError('PROXYHUB_BUS_UNAVAILABLE', reason));
      this.#waiting.delete(id);
    }
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

