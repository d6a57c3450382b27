/**
 * The consuming side, on its own connection: consumers are registered once and re-attached by
 * the recovery setup after every reconnect. A delivery whose channel died can no longer be
 * settled; the broker redelivers it, which idempotent handlers make harmless.
 */
import type { Channel, ChannelModel, ConsumeMessage, RecoveringChannelModel } from 'amqplib';
import type { Topology } from '../../../contracts/topology.ts';
import { openRecoveringConnection } from './connection.ts';
import { ConsumerRegistrations, type Registration } from '../consumer-registrations.ts';
import { ensureTopology, type TopologyScope } from '../declare-topology.ts';
import type { Logger } from '../../log/logger.ts';
import type { BusState, Consumer, ConsumerHandle, Delivery, DeliveryHandler } from '../transport.ts';

export interface AmqpConsumerOptions {
  readonly url: string;
  readonly name: string;
  readonly topology: Topology;
  readonly scope: TopologyScope;
  readonly logger: Logger;
}

/** One channel per consumer: a channel error in one queue does not stop the others. */
interface ChannelRegistration extends Registration<Channel> {
  consumerTag?: string;
}

export class AmqpConsumer implements Consumer {
  #connection: RecoveringChannelModel | undefined;
  #model: ChannelModel | undefined;
  #state: BusState = 'connecting';
  readonly #options: AmqpConsumerOptions;
  readonly #registrations: ConsumerRegistrations<ChannelModel, Channel, ChannelRegistration>;

  constructor(options: AmqpConsumerOptions) {
    this.#options = options;
    this.#registrations = new ConsumerRegistrations({ logger: options.logger, open: (model, registration) => this.#openConsumer(model, registration), current: () => this.#model });
  }

  get state(): BusState {
    return this.#state;
  }

  async start(): Promise<void> {
    this.#connection = await openRecoveringConnection({
      url: this.#options.url,
      name: this.#options.name,
      logger: this.#options.logger,
      setup: (model) => this.#setup(model),
      onDisconnect: () => {
        this.#model = undefined;
        if (this.#state !== 'closed') this.#state = 'down';
        this.#registrations.forgetLinks();
      },
    });
    await this.#connection.waitForConnect();
  }

  async #setup(model: ChannelModel): Promise<void> {
    await ensureTopology(model, this.#options.topology, this.#options.scope, this.#options.logger);
    this.#model = model;
    await this.#registrations.attachAll(model);
    this.#state = 'ready';
  }

  /** Starts consuming; rejects when the queue cannot be consumed now (the caller should not run without it). */
  async consume(queue: string, handler: DeliveryHandler, options: { prefetch: number }): Promise<ConsumerHandle> {
    const registration: ChannelRegistration = { queue, handler, prefetch: options.prefetch, cancelled: false, attaching: false, failures: 0 };
    this.#registrations.add(registration);
    if (this.#model) await this.#registrations.attach(this.#model, registration);
    return {
      cancel: async () => {
        registration.cancelled = true;
        const { link: channel, consumerTag } = registration;
        if (channel && consumerTag) await channel.cancel(consumerTag).catch(() => undefined);
      },
    };
  }

  async #openConsumer(model: ChannelModel, registration: ChannelRegistration): Promise<void> {
    const channel = await model.createChannel();
    channel.on('error', (error: Error) => this.#options.logger.warn({ err: error.message, queue: registration.queue }, 'consume channel error'));
    channel.on('close', () => {
      if (registration.link !== channel) return;
      delete registration.link;
      this.#registrations.reattachLater(model, registration);
    });
    await channel.prefetch(registration.prefetch);
    registration.link = channel;
    const reply = await channel.consume(registration.queue, (message) => {
      // A null message is the broker cancelling the consumer (queue deleted): reattach later.
      if (message === null) {
        this.#options.logger.warn({ queue: registration.queue }, 'consumer cancelled by the broker');
        void channel.close().catch(() => undefined);
        return;
      }
      void this.#dispatch(channel, registration, message);
    });
    registration.consumerTag = reply.consumerTag;
  }

  async #dispatch(channel: Channel, registration: ChannelRegistration, message: ConsumeMessage): Promise<void> {
    try {
      await registration.handler(toDelivery(channel, message));
    } catch (error) {
      // Handlers settle their own deliveries; reaching here is a bug. Requeue so nothing is lost.
      this.#options.logger.error({ err: error, queue: registration.queue }, 'delivery handler threw; requeueing');
      settle(() => channel.nack(message, false, true));
    }
  }

  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#registrations.close();
    await this.#connection?.close().catch(() => undefined);
  }
}

function settle(action: () => void): void {
  // Settling on a closed channel throws; the broker has already requeued the message.
  try {
    action();
  } catch {
    /* redelivered by the broker */
  }
}

export function toDelivery(channel: Channel, message: ConsumeMessage): Delivery {
  let settled = false;
  const once = (action: () => void) => () => {
    if (settled) return;
    settled = true;
    settle(action);
  };
  return {
    body: message.content,
    messageId: message.properties.messageId as string | undefined,
    type: message.properties.type as string | undefined,
    routingKey: message.fields.routingKey,
    headers: message.properties.headers ?? {},
    redelivered: message.fields.redelivered,
    replyTo: message.properties.replyTo as string | undefined,
    correlationId: message.properties.correlationId as string | undefined,
    ack: once(() => channel.ack(message)),
    requeue: once(() => channel.nack(message, false, true)),
  };
}
