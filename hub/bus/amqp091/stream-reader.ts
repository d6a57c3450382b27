/**
 * A RabbitMQ stream read over AMQP 0-9-1: consume with `x-stream-offset` (a timestamp the first
 * time, the next numeric offset after a reconnect), a prefetch (the broker requires one) and
 * manual acks, which for a stream only grant credit: nothing is removed.
 */
import type { Channel, ChannelModel, ConsumeMessage, RecoveringChannelModel } from 'amqplib';
import type { Topology } from '../../../contracts/topology.ts';
import { openRecoveringConnection } from './connection.ts';
import { ensureTopology, type TopologyScope } from '../declare-topology.ts';
import type { Logger } from '../../log/logger.ts';
import type { BusState, StreamEntry, StreamReader } from '../transport.ts';

export interface AmqpStreamReaderOptions {
  readonly url: string;
  readonly name: string;
  readonly topology: Topology;
  readonly scope: TopologyScope;
  readonly logger: Logger;
  readonly queue: string;
  /** Where the first read starts: RabbitMQ starts at the chunk holding this time (second granularity). */
  readonly from: Date;
  readonly onEntry: (entry: StreamEntry) => void;
}

/** Unacknowledged stream messages in flight; acks only grant credit, so this just bounds memory. */
const STREAM_PREFETCH = 500;

export class AmqpStreamReader implements StreamReader {
  #connection: RecoveringChannelModel | undefined;
  #state: BusState = 'connecting';
  #channel: Channel | undefined;
  /** The connection the subscription runs on now; dropped to renew it. */
  #model: ChannelModel | undefined;
  #nextOffset: number | undefined;
  readonly #options: AmqpStreamReaderOptions;

  constructor(options: AmqpStreamReaderOptions) {
    this.#options = options;
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
        this.#channel = undefined;
        this.#model = undefined;
        if (this.#state !== 'closed') this.#state = 'down';
      },
    });
    await this.#connection.waitForConnect();
  }

  #offsetArgument(): unknown {
    if (this.#nextOffset !== undefined) return this.#nextOffset;
    return { '!': 'timestamp', value: Math.floor(this.#options.from.getTime() / 1000) };
  }

  async #setup(model: ChannelModel): Promise<void> {
    this.#model = model;
    await ensureTopology(model, this.#options.topology, this.#options.scope, this.#options.logger);
    const channel = await model.createChannel();
    channel.on('error', (error: Error) => this.#options.logger.warn({ err: error.message, queue: this.#options.queue }, 'stream channel error'));
    channel.on('close', () => {
      if (this.#channel !== channel || this.#state === 'closed') return;
      this.#channel = undefined;
      this.#state = 'down';
      // A channel closed under a live connection (for example the stream was deleted): try again.
      setTimeout(() => {
        if (this.#state === 'closed' || this.#model !== model) return;
        void this.#setup(model).catch((error: unknown) => this.#options.logger.warn({ err: String(error) }, 'stream re-subscribe failed'));
      }, 1000).unref();
    });
    await channel.prefetch(STREAM_PREFETCH);
    this.#channel = channel;
    await channel.consume(this.#options.queue, (message) => this.#receive(channel, message), { noAck: false, arguments: { 'x-stream-offset': this.#offsetArgument() } });
    if (this.#state !== 'closed') this.#state = 'ready';
  }

  #receive(channel: Channel, message: ConsumeMessage | null): void {
    if (message === null) {
      this.#options.logger.warn({ queue: this.#options.queue }, 'stream consumer cancelled by the broker');
      void channel.close().catch(() => undefined);
      return;
    }
    const offset = Number(message.properties.headers?.['x-stream-offset'] ?? -1);
    try {
      channel.ack(message);
    } catch {
      /* the channel closed; the next subscription resumes after the last offset seen */
    }
    // A timestamp start can begin a little earlier than asked, and a reconnect never earlier
    // than the next offset: either way nothing before an entry already seen is handed on.
    if (this.#nextOffset !== undefined && offset < this.#nextOffset) return;
    this.#nextOffset = offset + 1;
    try {
      this.#options.onEntry({ body: message.content, offset });
    } catch (error) {
      this.#options.logger.error({ err: error, offset }, 'stream entry handler threw');
    }
  }

  resubscribe(): void {
    const model = this.#model;
    if (model === undefined || this.#state !== 'ready') return;
    // The whole connection goes, not just the channel: recovery then reconnects (to the next node
    // when there are several), declares and subscribes again from the offset after the last
    // entry seen, and keeps retrying, with its watchdog, until that works.
    this.#state = 'down';
    this.#channel = undefined;
    this.#model = undefined;
    this.#options.logger.warn({ queue: this.#options.queue, nextOffset: this.#nextOffset }, 'stream subscription renewed on a new connection');
    void model.close().catch(() => undefined);
  }

  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    await this.#connection?.close().catch(() => undefined);
  }
}
