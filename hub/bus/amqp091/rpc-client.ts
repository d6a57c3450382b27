/**
 * Request/reply over the broker with RabbitMQ's direct reply-to: replies come back on the
 * requesting channel without a reply queue. A request no queue takes fails at once; one nobody
 * answers in time (no worker consuming, or a slow Foreman) fails with a timeout. Lost replies are harmless: requests here are
 * idempotent reads or registrations the caller repeats.
 */
import { randomUUID } from 'node:crypto';
import type { Channel, ChannelModel, ConsumeMessage, Message, RecoveringChannelModel } from 'amqplib';
import { ProxyhubError } from '../../../contracts/errors.ts';
import { openRecoveringConnection } from './connection.ts';
import type { Logger } from '../../log/logger.ts';
import { ConsumerCountCache } from '../consumer-count-cache.ts';
import { PendingReplies } from '../pending-replies.ts';
import { TRACEPARENT_HEADER, type RpcClient, type RpcRequest } from '../transport.ts';

const REPLY_TO = 'amq.rabbitmq.reply-to';

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

export class AmqpRpcClient implements RpcClient {
  #connection: RecoveringChannelModel | undefined;
  #channel: Channel | undefined;
  #closed = false;
  readonly #pending = new PendingReplies();
  readonly #consumers = new ConsumerCountCache();
  readonly #options: AmqpRpcClientOptions;

  constructor(options: AmqpRpcClientOptions) {
    this.#options = options;
  }

  async start(): Promise<void> {
    this.#connection = await openRecoveringConnection({
      ...this.#options,
      setup: (model) => this.#setup(model),
      onDisconnect: () => this.#pending.failAll('broker connection lost'),
    });
    await this.#connection.waitForConnect();
  }

  async #setup(model: ChannelModel): Promise<void> {
    const channel = await model.createChannel();
    channel.on('error', (error: Error) => this.#options.logger.warn({ err: error.message }, 'rpc channel error'));
    channel.on('close', () => {
      if (this.#channel === channel) {
        this.#channel = undefined;
        this.#pending.failAll('rpc channel closed');
      }
    });
    // A message no queue takes comes back before anything else could answer it.
    channel.on('return', (message: Message) => this.#settle(message, new ProxyhubError('PROXYHUB_BUS_UNROUTABLE', 'no queue takes this request')));
    await channel.consume(REPLY_TO, (message: ConsumeMessage | null) => message && this.#settle(message), { noAck: true });
    this.#channel = channel;
  }

  async request(request: RpcRequest): Promise<Buffer> {
    const channel = this.#channel;
    if (channel && !this.#closed && !(await this.#consumers.hasConsumers(request.queue, (queue) => channel.checkQueue(queue).then((reply) => reply.consumerCount)))) {
      throw new ProxyhubError('PROXYHUB_RPC_NO_WORKER', `no worker consumes ${request.queue}`);
    }
    return this.#send(request);
  }

  #send(request: RpcRequest): Promise<Buffer> {
    const channel = this.#channel;
    if (!channel || this.#closed) return Promise.reject(new ProxyhubError('PROXYHUB_BUS_UNAVAILABLE', 'broker is not connected'));
    const correlationId = randomUUID();
    return this.#pending.wait(correlationId, request.timeoutMs, () => this.#publish(channel, request, correlationId), 'rpc channel closed');
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
      ...(request.traceparent ? { headers: { [TRACEPARENT_HEADER]: request.traceparent } } : {}),
    });
  }

  #settle(message: Message, error?: ProxyhubError): void {
    this.#pending.settle(String(message.properties.correlationId), error ?? message.content);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#pending.failAll('rpc client closed');
    await this.#connection?.close().catch(() => undefined);
  }
}
