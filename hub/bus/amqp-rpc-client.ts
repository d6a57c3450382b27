/**
 * Request/reply over the broker with RabbitMQ's direct reply-to: replies come back on the
 * requesting channel without a reply queue. A request no queue takes fails at once; one nobody
 * answers in time (no worker consuming, or a slow Foreman) fails with a timeout. Lost replies are harmless: requests here are
 * idempotent reads or registrations the caller repeats.
 */
import { randomUUID } from 'node:crypto';
import type { Channel, ChannelModel, ConsumeMessage, Message, RecoveringChannelModel } from 'amqplib';
import { ProxyhubError } from '../../contracts/errors.ts';
import { openRecoveringConnection } from './amqp-connection.ts';
import type { Logger } from './logger.ts';
import type { RpcClient, RpcRequest } from './transport.ts';

const REPLY_TO = 'amq.rabbitmq.reply-to';
const CONSUMER_CHECK_MS = 2000;

export interface AmqpRpcClientOptions {
  readonly url: string;
  readonly name: string;
  readonly logger: Logger;
  /**
   * The direct exchange each request queue is bound to by its own name: not the default exchange,
   * whose write permission would let the ingress's account write into every queue.
   */
  readonly exchange: string;
}

interface Waiting {
  resolve(body: Buffer): void;
  reject(error: ProxyhubError): void;
  timer: NodeJS.Timeout;
}

export class AmqpRpcClient implements RpcClient {
  #connection: RecoveringChannelModel | undefined;
  #channel: Channel | undefined;
  #closed = false;
  readonly #waiting = new Map<string, Waiting>();
  /** Consumer counts per queue, looked up at most every CONSUMER_CHECK_MS. */
  readonly #consumers = new Map<string, { at: number; count: Promise<number> }>();
  readonly #options: AmqpRpcClientOptions;

  constructor(options: AmqpRpcClientOptions) {
    this.#options = options;
  }

  async start(): Promise<void> {
    this.#connection = await openRecoveringConnection({
      ...this.#options,
      setup: (model) => this.#setup(model),
      onDisconnect: () => this.#failAll('broker connection lost'),
    });
    await this.#connection.waitForConnect();
  }

  async #setup(model: ChannelModel): Promise<void> {
    const channel = await model.createChannel();
    channel.on('error', (error: Error) => this.#options.logger.warn({ err: error.message }, 'rpc channel error'));
    channel.on('close', () => {
      if (this.#channel === channel) {
        this.#channel = undefined;
        this.#failAll('rpc channel closed');
      }
    });
    // A message no queue takes comes back before anything else could answer it.
    channel.on('return', (message: Message) => this.#settle(message, new ProxyhubError('PROXYHUB_BUS_UNROUTABLE', 'no queue takes this request')));
    await channel.consume(REPLY_TO, (message: ConsumeMessage | null) => message && this.#settle(message), { noAck: true });
    this.#channel = channel;
  }

  /**
   * Whether anyone consumes the queue. A request nobody will take would otherwise wait out the
   * whole timeout; the answer is cached briefly so the check costs one round trip now and then.
   */
  #hasConsumers(channel: Channel, queue: string): Promise<boolean> {
    const cached = this.#consumers.get(queue);
    if (cached && Date.now() - cached.at < CONSUMER_CHECK_MS) return cached.count.then((count) => count > 0);
    const count = channel.checkQueue(queue).then(
      (reply) => reply.consumerCount,
      () => 0,
    );
    this.#consumers.set(queue, { at: Date.now(), count });
    return count.then((n) => n > 0);
  }

  async request(request: RpcRequest): Promise<Buffer> {
    const channel = this.#channel;
    if (channel && !this.#closed && !(await this.#hasConsumers(channel, request.queue))) {
      throw new ProxyhubError('PROXYHUB_RPC_NO_WORKER', `no worker consumes ${request.queue}`);
    }
    return this.#send(request);
  }

  #send(request: RpcRequest): Promise<Buffer> {
    const channel = this.#channel;
    if (!channel || this.#closed) return Promise.reject(new ProxyhubError('PROXYHUB_BUS_UNAVAILABLE', 'broker is not connected'));
    const correlationId = randomUUID();
    return new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(correlationId);
        reject(new ProxyhubError('PROXYHUB_RPC_TIMEOUT', `no answer within ${request.timeoutMs} ms`));
      }, request.timeoutMs);
      this.#waiting.set(correlationId, { resolve, reject, timer });
      try {
        this.#publish(channel, request, correlationId);
      } catch (error) {
        // The channel closed between the check above and the write.
        clearTimeout(timer);
        this.#waiting.delete(correlationId);
        reject(new ProxyhubError('PROXYHUB_BUS_UNAVAILABLE', 'rpc channel closed', { cause: error }));
      }
    });
  }

  #publish(channel: Channel, request: RpcRequest, correlationId: string): void {
    channel.publish(this.#options.exchange, request.queue, request.body, {
        replyTo: REPLY_TO,
        correlationId,
        messageId: correlationId,
        type: request.type,
        contentType: 'application/json',
        mandatory: true,
      // The worker must not act on a request its caller has given up on.
      expiration: String(request.timeoutMs),
    });
  }

  #settle(message: Message, error?: ProxyhubError): void {
    const id = String(message.properties.correlationId);
    const waiting = this.#waiting.get(id);
    if (!waiting) return;
    this.#waiting.delete(id);
    clearTimeout(waiting.timer);
    if (error) waiting.reject(error);
    else waiting.resolve(message.content);
  }

  #failAll(reason: string): void {
    for (const [id, waiting] of this.#waiting) {
      clearTimeout(waiting.timer);
      waiting.reject(new ProxyhubError('PROXYHUB_BUS_UNAVAILABLE', reason));
      this.#waiting.delete(id);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#failAll('rpc client closed');
    await this.#connection?.close().catch(() => undefined);
  }
}
