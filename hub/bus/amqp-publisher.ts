/**
 * The publishing side: one confirm channel on its own connection (a blocked publisher must not
 * stall consumers), a bounded window of unconfirmed messages, `mandatory` with returns treated
 * as failures, and every failure turned into a PROXYHUB_BUS_* error at once rather than a hang.
 */
import type { ChannelModel, ConfirmChannel, Message, RecoveringChannelModel } from 'amqplib';
import { ProxyhubError, type ErrorCode } from '../../contracts/errors.ts';
import type { Topology } from '../../contracts/topology.ts';
import { openRecoveringConnection } from './amqp-connection.ts';
import { declareTopology, type TopologyScope } from './declare-topology.ts';
import type { Logger } from './logger.ts';
import type { BusState, OutgoingMessage, Publisher } from './transport.ts';

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

interface PendingPublish {
  /** When the client gets its 503 if the broker has not confirmed by then. */
  readonly deadline: number;
  returned: boolean;
  settled: boolean;
  resolve(): void;
  reject(error: ProxyhubError): void;
}

const SEQUENCE_HEADER = 'x-proxyhub-publish-seq';
const SWEEP_INTERVAL_MS = 50;
/**
 * The confirm deadline grows with the body at this rate (10 MB/s, well under what a broker
 * persists): an 85 MB ARF upload must not time out while its bytes are still on the wire.
 */
const LARGE_BODY_BYTES_PER_MS = 10_000;

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
  readonly #pending = new Map<number, PendingPublish>();
  /** Slots granted to waiters whose publish has not been sent yet. */
  #reserved = 0;
  readonly #slotWaiters: Array<{ readonly deadline: number; grant(): void; fail(code: ErrorCode): void }> = [];
  #sweepTimer: NodeJS.Timeout | undefined;
  readonly #options: AmqpPublisherOptions;

  constructor(options: AmqpPublisherOptions) {
    this.#options = options;
  }

  get state(): BusState {
    return this.#state === 'ready' && this.#blocked ? 'blocked' : this.#state;
  }

  async start(): Promise<void> {
    this.#sweepTimer = setInterval(() => this.#sweep(), SWEEP_INTERVAL_MS).unref();
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
    const channel = await model.createConfirmChannel();
    // Before anything can fail on it: an 'error' event without a listener would crash the process.
    channel.on('error', (error: Error) => this.#options.logger.warn({ err: error.message }, 'publish channel error'));
    await declareTopology(channel, this.#options.topology, this.#options.scope);
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
    const delayMs = Math.min(5000, 100 * 2 ** attempt);
    setTimeout(() => {
      if (this.#state === 'closed' || this.#model !== model || this.#channel) return;
      this.#setup(model).catch((error: unknown) => {
        this.#options.logger.warn({ err: String(error), attempt }, 'reopening the publish channel failed; retrying');
        this.#reopen(model, attempt + 1);
      });
    }, delayMs).unref();
  }

  async publish(message: OutgoingMessage): Promise<void> {
    const deadline = Date.now() + this.#options.confirmTimeoutMs + Math.ceil(message.body.length / LARGE_BODY_BYTES_PER_MS);
    this.#assertWritable();
    // Behind earlier waiters, never ahead of them: the window is first come, first served.
    if (this.#slotWaiters.length > 0 || this.#pending.size + this.#reserved >= this.#options.maxUnconfirmed) {
      await this.#waitForSlot(deadline);
      this.#reserved = Math.max(0, this.#reserved - 1);
    }
    this.#assertWritable();
    const channel = this.#channel as ConfirmChannel;
    const sequence = ++this.#sequence;
    return new Promise<void>((resolve, reject) => {
      const entry: PendingPublish = { deadline, returned: false, settled: false, resolve, reject };
      this.#pending.set(sequence, entry);
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
    });
  }

  #assertWritable(): void {
    if (this.#blocked) throw new ProxyhubError('PROXYHUB_BUS_BLOCKED', 'broker is blocking publishers (memory or disk alarm)');
    if (this.#state !== 'ready' || this.#channel === undefined) {
      throw new ProxyhubError('PROXYHUB_BUS_UNAVAILABLE', 'broker is not connected');
    }
  }

  #onReturn(message: Message): void {
    const sequence = message.properties.headers?.[SEQUENCE_HEADER];
    const entry = typeof sequence === 'number' ? this.#pending.get(sequence) : undefined;
    if (entry) entry.returned = true;
  }

  #onConfirm(sequence: number, error: unknown): void {
    const entry = this.#pending.get(sequence);
    if (!entry) return;
    this.#pending.delete(sequence);
    this.#grantSlot();
    if (entry.settled) return;
    entry.settled = true;
    // amqplib fails unconfirmed publishes of a closing channel before our close handler runs.
    if (error) entry.reject(isNack(error) ? new ProxyhubError('PROXYHUB_BUS_REFUSED', 'broker refused the message (nack)', { cause: error }) : new ProxyhubError('PROXYHUB_BUS_UNAVAILABLE', 'publish channel closed before the broker confirmed', { cause: error }));
    else if (entry.returned) entry.reject(new ProxyhubError('PROXYHUB_BUS_UNROUTABLE', 'no queue is bound for this event'));
    else entry.resolve();
  }

  #waitForSlot(deadline: number): Promise<void> {
    return new Promise((grant, reject) => {
      this.#slotWaiters.push({ deadline, grant, fail: (code) => reject(new ProxyhubError(code, 'too many unconfirmed publishes')) });
      this.#grantSlot();
    });
  }

  #grantSlot(): void {
    while (this.#slotWaiters.length > 0 && this.#pending.size + this.#reserved < this.#options.maxUnconfirmed) {
      this.#reserved += 1;
      this.#slotWaiters.shift()?.grant();
    }
  }

  /** Answers late confirms with a timeout; the slot stays taken until the broker answers. */
  #sweep(): void {
    const now = Date.now();
    for (const entry of this.#pending.values()) {
      if (!entry.settled && entry.deadline <= now) {
        entry.settled = true;
        entry.reject(new ProxyhubError('PROXYHUB_BUS_TIMEOUT', `broker did not confirm within ${this.#options.confirmTimeoutMs} ms (plus transfer time for a large body)`));
      }
    }
    while (this.#slotWaiters[0] !== undefined && this.#slotWaiters[0].deadline <= now) this.#slotWaiters.shift()?.fail('PROXYHUB_OVERLOADED');
  }

  /** Fails everything in flight at once: a client must never wait out its own timeout. */
  #lose(code: ErrorCode, reason: string): void {
    this.#channel = undefined;
    if (this.#state !== 'closed') this.#state = 'down';
    for (const entry of this.#pending.values()) {
      if (!entry.settled) {
        entry.settled = true;
        entry.reject(new ProxyhubError(code, reason));
      }
    }
    this.#pending.clear();
    for (const waiter of this.#slotWaiters.splice(0)) waiter.fail(code);
    this.#reserved = 0;
  }

  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    const deadline = Date.now() + this.#options.confirmTimeoutMs;
    while (this.#pending.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    this.#state = 'closed';
    clearInterval(this.#sweepTimer);
    this.#lose('PROXYHUB_BUS_UNAVAILABLE', 'publisher closed');
    await this.#connection?.close().catch(() => undefined);
  }
}
