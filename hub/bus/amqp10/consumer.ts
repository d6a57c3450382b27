/**
 * The consuming side over AMQP 1.0: one receiver link per queue with `autoaccept` off and the
 * credit managed here, one credit handed back per settled delivery, so no more than `prefetch`
 * deliveries are ever unsettled (rhea's own credit window refills on arrival, not on settlement).
 * Links are re-attached after every reconnect; a delivery whose connection died cannot be
 * settled any more and the broker redelivers it, which idempotent handlers make harmless.
 */
import type { Connection, EventContext, Receiver } from 'rhea';
import type { Topology } from '../../../contracts/topology.ts';
import type { Addresses } from './addresses.ts';
import { RecoveringAmqp10Connection, asError, openReceiver } from './connection.ts';
import { receivedFields } from './message.ts';
import { ConsumerRegistrations, type Registration } from '../consumer-registrations.ts';
import type { TopologyScope } from '../declare-topology.ts';
import type { Logger } from '../../log/logger.ts';
import type { RabbitAdmin } from './rabbit-admin.ts';
import { coalesceWrites } from './write-coalescing.ts';
import type { BusState, Consumer, ConsumerHandle, Delivery, DeliveryHandler } from '../transport.ts';

export interface Amqp10ConsumerOptions {
  readonly url: string;
  readonly name: string;
  readonly addresses: Addresses;
  readonly topology: Topology;
  readonly scope: TopologyScope;
  readonly logger: Logger;
  readonly admin?: RabbitAdmin;
}

interface ReceiverRegistration extends Registration<Receiver> {
  /** Deliveries handed to the handler and not settled yet. */
  unsettled: number;
}

export class Amqp10Consumer implements Consumer {
  readonly #connection: RecoveringAmqp10Connection;
  #state: BusState = 'connecting';
  readonly #registrations: ConsumerRegistrations<Connection, Receiver, ReceiverRegistration>;
  readonly #options: Amqp10ConsumerOptions;

  constructor(options: Amqp10ConsumerOptions) {
    this.#options = options;
    this.#connection = new RecoveringAmqp10Connection({
      url: options.url,
      name: options.name,
      scheme: options.addresses.scheme,
      logger: options.logger,
      setup: (connection) => this.#setup(connection),
      onDisconnect: () => {
        if (this.#state !== 'closed') this.#state = 'down';
        this.#registrations.forgetLinks();
      },
    });
    options.admin?.onForcedClose((reason) => this.#connection.drop(reason));
    this.#registrations = new ConsumerRegistrations({ logger: options.logger, open: (connection, registration) => this.#openReceiver(connection, registration), current: () => this.#connection.current });
  }

  get state(): BusState {
    return this.#state;
  }

  async start(): Promise<void> {
    await this.#connection.start();
  }

  async #setup(connection: Connection): Promise<void> {
    await this.#options.admin?.declare(this.#options.topology, this.#options.scope);
    await this.#registrations.attachAll(connection);
    this.#state = 'ready';
  }

  async consume(queue: string, handler: DeliveryHandler, options: { prefetch: number }): Promise<ConsumerHandle> {
    const registration: ReceiverRegistration = { queue, handler, prefetch: options.prefetch, unsettled: 0, cancelled: false, attaching: false, failures: 0 };
    const connection = this.#connection.current;
    if (connection) await this.#registrations.attach(connection, registration);
    this.#registrations.add(registration);
    return {
      cancel: async () => {
        // Drain: the broker uses up or cancels the credit it holds, so no new deliveries come
        // (anything already on its way is released back). The link detaches once the deliveries
        // in flight are settled: settling needs the link.
        registration.cancelled = true;
        registration.link?.drain_credit();
        this.#detachWhenIdle(registration);
      },
    };
  }

  async #openReceiver(connection: Connection, registration: ReceiverRegistration): Promise<void> {
    const { admin, addresses, logger } = this.#options;
    // On RabbitMQ a link to a missing queue ends the whole session: look before attaching.
    if (admin && (await admin.queueInfo(registration.queue)) === undefined) throw new Error(`queue ${registration.queue} does not exist`);
    const receiver = await openReceiver(connection, { source: { address: addresses.queue(registration.queue) }, autoaccept: false, credit_window: 0 });
    registration.link = receiver;
    receiver.on('message', (context: EventContext) => void this.#dispatch(receiver, registration, context));
    receiver.on('receiver_error', (context: EventContext) => logger.warn({ err: asError(context.receiver?.error, 'receiver error').message, queue: registration.queue }, 'consume link error'));
    // The broker detached the link (queue deleted, consumer cancelled): attach again later.
    receiver.on('receiver_close', () => {
      if (registration.link !== receiver) return;
      delete registration.link;
      if (!registration.cancelled) logger.warn({ queue: registration.queue }, 'consumer cancelled by the broker');
      this.#registrations.reattachLater(connection, registration);
    });
    receiver.add_credit(registration.prefetch);
  }

  #detachWhenIdle(registration: ReceiverRegistration): void {
    if (registration.cancelled && registration.unsettled === 0 && registration.link?.is_open()) registration.link.close();
  }

  async #dispatch(receiver: Receiver, registration: ReceiverRegistration, context: EventContext): Promise<void> {
    const { delivery, message } = context;
    if (!delivery || !message) return;
    if (registration.cancelled) {
      delivery.release();
      return;
    }
    let settled = false;
    registration.unsettled += 1;
    const settle = (action: () => void) => (): void => {
      if (settled) return;
      settled = true;
      // The disposition and the new credit go out with the others of this turn.
      coalesceWrites(receiver.connection);
      action();
      registration.unsettled -= 1;
      // One settled delivery, one new credit: at most `prefetch` are ever unsettled.
      if (registration.link === receiver && !registration.cancelled && receiver.is_open()) receiver.add_credit(1);
      this.#detachWhenIdle(registration);
    };
    const fields = receivedFields(message, this.#options.addresses);
    const received: Delivery = {
      body: fields.body,
      messageId: fields.messageId,
      type: fields.type,
      routingKey: fields.routingKey,
      headers: fields.headers,
      redelivered: fields.redelivered,
      replyTo: fields.replyTo,
      correlationId: fields.correlationId,
      ack: settle(() => delivery.accept()),
      // `released` puts it back for another consumer; RabbitMQ counts it toward the delivery limit.
      requeue: settle(() => delivery.release()),
    };
    try {
      await registration.handler(received);
    } catch (error) {
      // Handlers settle their own deliveries; reaching here is a bug. Requeue so nothing is lost.
      this.#options.logger.error({ err: error, queue: registration.queue }, 'delivery handler threw; requeueing');
      received.requeue();
    }
  }

  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#registrations.close();
    await this.#connection.close();
    await this.#options.admin?.close();
  }
}
