/**
 * The publishing side over AMQP 1.0: one connection, one sender link per target address (opened
 * on first use, after the node was proven to exist), every message sent unsettled and answered
 * by the broker's outcome: `accepted` resolves (the ingress answers 202), `rejected`, `released`
 * and `modified` become PROXYHUB_BUS_* errors (503).
 */
import type { Connection, Delivery as RheaDelivery, EventContext, Sender } from 'rhea';
import { ProxyhubError, errorMessage } from '../../../contracts/errors.ts';
import type { Topology } from '../../../contracts/topology.ts';
import type { Addresses } from './addresses.ts';
import { RecoveringAmqp10Connection, asError, openSenderTo } from './connection.ts';
import { STANDARD_FORMAT, encodeMessage } from './message-bytes.ts';
import { ConfirmWindow, confirmDeadline } from '../confirm-window.ts';
import type { TopologyScope } from '../declare-topology.ts';
import type { Logger } from '../../log/logger.ts';
import type { RabbitAdmin } from './rabbit-admin.ts';
import { RouteGuard, type RouteTarget } from './route-guard.ts';
import { SenderLinks } from './sender-links.ts';
import { coalesceWrites } from './write-coalescing.ts';
import type { BusState, OutgoingMessage, Publisher } from '../transport.ts';

export interface Amqp10PublisherOptions {
  readonly url: string;
  readonly name: string;
  readonly addresses: Addresses;
  readonly topology: Topology;
  readonly scope: TopologyScope;
  readonly logger: Logger;
  /** The 0-9-1 side channel on RabbitMQ; absent on brokers whose topology the operator creates. */
  readonly admin?: RabbitAdmin;
  /** @defaultValue 1000 */
  readonly confirmTimeoutMs: number;
  /** @defaultValue 2000 */
  readonly maxUnconfirmed: number;
}

/** The error a non-accepted outcome turns into. */
export function outcomeError(context: EventContext, outcome: 'released' | 'rejected' | 'modified'): ProxyhubError {
  const state = context.delivery?.remote_state as { error?: { description?: string; condition?: string } } | undefined;
  const detail = state?.error?.description ?? state?.error?.condition;
  switch (outcome) {
    // RabbitMQ 4 and routers release what no queue (or no consumer) takes.
    case 'released':
      return new ProxyhubError('PROXYHUB_BUS_UNROUTABLE', 'the broker released the message: no queue took it');
    case 'rejected':
      return new ProxyhubError('PROXYHUB_BUS_REFUSED', `broker refused the message${detail ? ` (${detail})` : ''}`);
    case 'modified':
      return new ProxyhubError('PROXYHUB_BUS_REFUSED', 'broker could not take the message now (modified)');
  }
}

/** A route lookup or link attach that the broker is slow to answer must not hold the client past its deadline. */
function beforeDeadline<T>(work: Promise<T>, deadline: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ProxyhubError('PROXYHUB_BUS_TIMEOUT', 'broker did not answer in time')), Math.max(0, deadline - Date.now()));
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

export class Amqp10Publisher implements Publisher {
  readonly #connection: RecoveringAmqp10Connection;
  #state: BusState = 'connecting';
  /** Per connection: a sender link per target address. */
  readonly #senders = new SenderLinks();
  readonly #window: ConfirmWindow<RheaDelivery>;
  readonly #guard: RouteGuard | undefined;
  readonly #options: Amqp10PublisherOptions;

  constructor(options: Amqp10PublisherOptions) {
    this.#options = options;
    this.#window = new ConfirmWindow({ maxUnsettled: options.maxUnconfirmed, timeoutMs: options.confirmTimeoutMs });
    this.#guard = options.admin && options.addresses.acceptsUnroutable ? new RouteGuard(options.admin, options.topology) : undefined;
    this.#connection = new RecoveringAmqp10Connection({
      url: options.url,
      name: options.name,
      scheme: options.addresses.scheme,
      logger: options.logger,
      sessionBufferSize: options.maxUnconfirmed + 64,
      setup: (connection) => this.#setup(connection),
      onDisconnect: () => this.#lose('broker connection lost'),
    });
    options.admin?.onForcedClose((reason) => this.#connection.drop(reason));
  }

  get state(): BusState {
    return this.#state;
  }

  async start(): Promise<void> {
    this.#window.start();
    await this.#connection.start();
  }

  async #setup(_connection: Connection): Promise<void> {
    await this.#options.admin?.declare(this.#options.topology, this.#options.scope);
    this.#guard?.forget();
    this.#senders.reset();
    this.#state = 'ready';
  }

  async publish(message: OutgoingMessage): Promise<void> {
    const deadline = confirmDeadline(this.#options.confirmTimeoutMs, message.body.length);
    this.#assertWritable();
    let targets: readonly RouteTarget[] = [message];
    if (this.#guard && (message.mandatory ?? true)) {
      targets =
        this.#guard.cachedTargets(message.exchange, message.routingKey) ??
        (await beforeDeadline(this.#guard.targets(message.exchange, message.routingKey), deadline).catch((error: unknown) => {
          throw error instanceof ProxyhubError ? error : new ProxyhubError('PROXYHUB_BUS_UNAVAILABLE', 'cannot look up the route', { cause: error });
        }));
    }
    const [only] = targets;
    if (targets.length === 1 && only) return this.#send(message, only, deadline);
    // One delivery per target queue; the publish counts as confirmed once every one is accepted.
    await Promise.all(targets.map((target) => this.#send(message, target, deadline)));
  }

  async #send(message: OutgoingMessage, target: RouteTarget, deadline: number): Promise<void> {
    await this.#window.acquire(deadline);
    let sender: Sender;
    try {
      this.#assertWritable();
      const address = this.#options.addresses.target(target.exchange, target.routingKey);
      sender = this.#senders.ready(address) ?? (await beforeDeadline(this.#senders.get(address, () => this.#attach(target.exchange, target.routingKey, address)), deadline));
      this.#assertWritable();
    } catch (error) {
      this.#window.release();
      throw error instanceof ProxyhubError ? error : new ProxyhubError('PROXYHUB_BUS_UNAVAILABLE', String(error), { cause: error });
    }
    let delivery: RheaDelivery;
    try {
      // Sent at once when the link has credit, else buffered by rhea until the broker grants some.
      coalesceWrites(sender.connection);
      delivery = sender.send(encodeMessage(message), undefined, STANDARD_FORMAT);
    } catch (error) {
      // The link went away between the lookup and the send (detached by the broker).
      this.#window.release();
      throw new ProxyhubError('PROXYHUB_BUS_UNAVAILABLE', 'publish link closed', { cause: error });
    }
    return this.#window.track(delivery, deadline);
  }

  #assertWritable(): void {
    if (this.#state !== 'ready' || this.#connection.current === undefined) {
      throw new ProxyhubError('PROXYHUB_BUS_UNAVAILABLE', 'broker is not connected');
    }
  }

  async #attach(exchange: string, routingKey: string, address: string): Promise<Sender> {
    const { admin } = this.#options;
    // On RabbitMQ a link to a missing node ends the whole session: look before attaching.
    if (admin) {
      const exists = exchange === '' ? (await admin.queueInfo(routingKey)) !== undefined : await admin.exchangeExists(exchange);
      if (!exists) throw new ProxyhubError('PROXYHUB_BUS_UNROUTABLE', `no ${exchange === '' ? 'queue' : 'exchange'} ${exchange || routingKey} on the broker`);
    }
    const connection = this.#connection.current;
    if (!connection) throw new ProxyhubError('PROXYHUB_BUS_UNAVAILABLE', 'broker is not connected');
    const sender = await openSenderTo(connection, address).catch((error: unknown) => {
      throw new ProxyhubError('PROXYHUB_BUS_UNROUTABLE', `the broker refused a link to ${address}: ${errorMessage(error)}`, { cause: error });
    });
    sender.on('accepted', (context: EventContext) => context.delivery && this.#window.settle(context.delivery));
    for (const outcome of ['released', 'rejected', 'modified'] as const) {
      sender.on(outcome, (context: EventContext) => context.delivery && this.#window.settle(context.delivery, outcomeError(context, outcome)));
    }
    sender.on('sender_error', (context: EventContext) => this.#options.logger.warn({ err: asError(context.sender?.error, 'sender error').message, address }, 'publish link error'));
    return sender;
  }

  #lose(reason: string): void {
    if (this.#state !== 'closed') this.#state = 'down';
    this.#senders.reset();
    this.#window.failAll('PROXYHUB_BUS_UNAVAILABLE', reason);
  }

  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    await this.#window.drain(this.#options.confirmTimeoutMs);
    this.#state = 'closed';
    this.#window.stop();
    this.#window.failAll('PROXYHUB_BUS_UNAVAILABLE', 'publisher closed');
    await this.#connection.close();
    await this.#options.admin?.close();
  }
}
