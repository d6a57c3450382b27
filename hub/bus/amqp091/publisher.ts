/**
 * The publishing side: one confirm channel on its own connection (a blocked publisher must not
 * stall consumers), a bounded window of unconfirmed messages, `mandatory` with returns treated
 * as failures, and every failure turned into a PROXYHUB_BUS_* error at once rather than a hang.
 */
import type { ChannelModel, ConfirmChannel, Message, RecoveringChannelModel } from 'amqplib';
import { ProxyhubError, type ErrorCode } from '../../../contracts/errors.ts';
import type { Topology } from '../../../contracts/topology.ts';
import { openRecoveringConnection } from './connection.ts';
import { RECONNECT_BACKOFF, backoffDelay } from '../backoff.ts';
import { ConfirmWindow, confirmDeadline } from '../confirm-window.ts';
import { ensureTopology, type TopologyScope } from '../declare-topology.ts';
import type { Logger } from '../../log/logger.ts';
import type { BusState, OutgoingMessage, Publisher } from '../transport.ts';
import { coalesceWrites } from './write-coalescing.ts';

export interface AmqpPublisherOptions {
  readonly url: string;
  readonly name: string;
  readonly topology: Topology;
  readonly scope: TopologyScope;
  readonly logger: Logger;
  /** @defaultValue 1000 */
  readonly confirmTimeoutMs: number;
  /** @defaultValue 2000 */
  readonly maxUnconfirmed: number;
}

const SEQUENCE_HEADER = 'x-proxyhub-publish-seq';

function isNack(error: unknown): boolean {
  return error instanceof Error && error.message === 'message nacked';
}

export class AmqpPublisher implements Publisher {
  #connection: RecoveringChannelModel | undefined;
  #channel: ConfirmChannel | undefined;
  #model: ChannelModel | undefined;
  #state: BusState = 'connecting';
  /** Kept apart from the state: a channel reopened during an alarm is still blocked. */
  #blocked = false;
  #sequence = 0;
  /** Unconfirmed publishes by sequence number; the window answers late ones with a timeout. */
  readonly #window: ConfirmWindow<number>;
  /** Sequence numbers the broker returned (unroutable); their confirm follows the return. */
  readonly #returned = new Set<number>();
  readonly #options: AmqpPublisherOptions;

  constructor(options: AmqpPublisherOptions) {
    this.#options = options;
    this.#window = new ConfirmWindow({ maxUnsettled: options.maxUnconfirmed, timeoutMs: options.confirmTimeoutMs });
  }

  get state(): BusState {
    return this.#state === 'ready' && this.#blocked ? 'blocked' : this.#state;
  }

  async start(): Promise<void> {
    this.#window.start();
    this.#connection = await openRecoveringConnection({
      url: this.#options.url,
      name: this.#options.name,
      logger: this.#options.logger,
      setup: (model) => this.#setup(model),
      onDisconnect: () => this.#lose('PROXYHUB_BUS_UNAVAILABLE', 'broker connection lost'),
      onBlocked: () => {
        this.#blocked = true;
      },
      onUnblocked: () => {
        this.#blocked = false;
      },
    });
    await this.#connection.waitForConnect();
  }

  async #setup(model: ChannelModel): Promise<void> {
    this.#model = model;
    await ensureTopology(model, this.#options.topology, this.#options.scope, this.#options.logger);
    const channel = await model.createConfirmChannel();
    // Before anything can fail on it: an 'error' event without a listener would crash the process.
    channel.on('error', (error: Error) => this.#options.logger.warn({ err: error.message }, 'publish channel error'));
    channel.on('return', (message: Message) => this.#onReturn(message));
    channel.on('close', () => {
      if (this.#channel !== channel) return;
      this.#lose('PROXYHUB_BUS_UNAVAILABLE', 'publish channel closed');
      // A channel-level error leaves the connection up; reopen on the same connection.
      this.#reopen(model, 1);
    });
    this.#channel = channel;
    this.#state = 'ready';
  }

  /** Retries opening the channel with growing pauses while this connection is the current one. */
  #reopen(model: ChannelModel, attempt: number): void {
    if (this.#state === 'closed' || this.#model !== model) return;
    const delayMs = backoffDelay(RECONNECT_BACKOFF, attempt);
    setTimeout(() => {
      if (this.#state === 'closed' || this.#model !== model || this.#channel) return;
      this.#setup(model).catch((error: unknown) => {
        this.#options.logger.warn({ err: String(error), attempt }, 'reopening the publish channel failed; retrying');
        this.#reopen(model, attempt + 1);
      });
    }, delayMs).unref();
  }

  async publish(message: OutgoingMessage): Promise<void> {
    const deadline = confirmDeadline(this.#options.confirmTimeoutMs, message.body.length);
    this.#assertWritable();
    // Behind earlier waiters, never ahead of them: the window is first come, first served.
    await this.#window.acquire(deadline);
    try {
      this.#assertWritable();
    } catch (error) {
      this.#window.release();
      throw error;
    }
    const channel = this.#channel as ConfirmChannel;
    const sequence = ++this.#sequence;
    const confirmed = this.#window.track(sequence, deadline);
    try {
      channel.publish(
        message.exchange,
        message.routingKey,
        message.body,
        {
          persistent: true,
          mandatory: message.mandatory ?? true,
          messageId: message.messageId,
          ...(message.correlationId === undefined ? {} : { correlationId: message.correlationId }),
          type: message.type,
          contentType: message.contentType,
          timestamp: message.timestamp ?? Math.floor(Date.now() / 1000),
          headers: { ...message.headers, [SEQUENCE_HEADER]: sequence },
        },
        (error: unknown) => this.#onConfirm(sequence, error),
      );
      if (this.#model !== undefined) coalesceWrites(this.#model);
    } catch (error) {
      // The channel closed between the check above and the write.
      this.#window.settle(sequence, new ProxyhubError('PROXYHUB_BUS_UNAVAILABLE', 'publish channel closed', { cause: error }));
    }
    return confirmed;
  }

  #assertWritable(): void {
    if (this.#blocked) throw new ProxyhubError('PROXYHUB_BUS_BLOCKED', 'broker is blocking publishers (memory or disk alarm)');
    if (this.#state !== 'ready' || this.#channel === undefined) {
      throw new ProxyhubError('PROXYHUB_BUS_UNAVAILABLE', 'broker is not connected');
    }
  }

  #onReturn(message: Message): void {
    const sequence: unknown = message.properties.headers?.[SEQUENCE_HEADER];
    if (typeof sequence === 'number') this.#returned.add(sequence);
  }

  #onConfirm(sequence: number, error: unknown): void {
    const returned = this.#returned.delete(sequence);
    // amqplib fails unconfirmed publishes of a closing channel before our close handler runs.
    if (error) this.#window.settle(sequence, isNack(error) ? new ProxyhubError('PROXYHUB_BUS_REFUSED', 'broker refused the message (nack)', { cause: error }) : new ProxyhubError('PROXYHUB_BUS_UNAVAILABLE', 'publish channel closed before the broker confirmed', { cause: error }));
    else if (returned) this.#window.settle(sequence, new ProxyhubError('PROXYHUB_BUS_UNROUTABLE', 'no queue is bound for this event'));
    else this.#window.settle(sequence);
  }

  /** Fails everything in flight at once: a client must never wait out its own timeout. */
  #lose(code: ErrorCode, reason: string): void {
    this.#channel = undefined;
    if (this.#state !== 'closed') this.#state = 'down';
    this.#window.failAll(code, reason);
    this.#returned.clear();
  }

  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    await this.#window.drain(this.#options.confirmTimeoutMs);
    this.#state = 'closed';
    this.#window.stop();
    this.#lose('PROXYHUB_BUS_UNAVAILABLE', 'publisher closed');
    await this.#connection?.close().catch(() => undefined);
  }
}
