/**
 * The AMQP 0-9-1 side channel an AMQP 1.0 transport keeps to RabbitMQ (same port, same
 * credentials). RabbitMQ 3.x's AMQP 1.0 plugin cannot declare durable quorum queues or
 * bindings, kills the whole session when a link names a node that does not exist, and accepts
 * unroutable messages; so topology is declared, and nodes and routes verified, through 0-9-1.
 */
import amqplib, { type Channel, type ChannelModel } from 'amqplib';
import type { Topology } from '../../../contracts/topology.ts';
import { ensureTopology, onOwnChannel, type TopologyScope } from '../declare-topology.ts';
import type { Logger } from '../../log/logger.ts';
import { connectToAny } from '../broker-urls.ts';
import { amqp091UrlOf } from '../transport.ts';

export interface QueueInfo {
  readonly messageCount: number;
  readonly consumerCount: number;
}

export class RabbitAdmin {
  #connection: Promise<ChannelModel> | undefined;
  #closed = false;
  readonly #forcedCloseListeners: Array<(reason: string) => void> = [];
  readonly #url: string;
  readonly #name: string;
  readonly #logger: Logger;

  constructor(options: { readonly url: string; readonly name: string; readonly logger: Logger }) {
    this.#url = amqp091UrlOf(options.url);
    this.#name = options.name;
    this.#logger = options.logger;
  }

  /** Connects on first use and again after a loss: the side channel is not kept up for its own sake. */
  #connect(): Promise<ChannelModel> {
    if (this.#closed) return Promise.reject(new Error('broker admin channel closed'));
    if (!this.#connection) {
      const connecting = connectToAny(this.#url, (node) => amqplib.connect(node, { clientProperties: { connection_name: this.#name }, timeout: 5000 })).then((model) => {
        const forget = (): void => {
          if (this.#connection === connecting) this.#connection = undefined;
        };
        model.on('error', (error: Error) => this.#logger.debug({ err: error.message }, 'broker admin connection error'));
        model.on('close', (error?: Error) => {
          forget();
          if (error && /CONNECTION[_-]FORCED/.test(error.message) && !this.#closed) for (const listener of this.#forcedCloseListeners) listener(error.message);
        });
        return model;
      });
      connecting.catch(() => {
        if (this.#connection === connecting) this.#connection = undefined;
      });
      this.#connection = connecting;
    }
    return this.#connection;
  }

  /** One channel per operation: a failed passive check closes its channel, not the others. */
  async #withChannel<T>(fn: (channel: Channel) => Promise<T>): Promise<T> {
    return onOwnChannel(await this.#connect(), fn);
  }

  /**
   * A node shutting down closes 0-9-1 connections at once with CONNECTION_FORCED, while the 3.x
   * AMQP 1.0 plugin's connections stop settling and are reset only when the node dies, a second
   * or more later. The AMQP 1.0 endpoints listen here to give up their connection on the notice.
   */
  onForcedClose(listener: (reason: string) => void): void {
    this.#forcedCloseListeners.push(listener);
  }

  declare(topology: Topology, scope: TopologyScope): Promise<void> {
    return this.#connect().then((model) => ensureTopology(model, topology, scope, this.#logger));
  }

  /** Undefined when the queue does not exist; rejects when the broker cannot be asked. */
  async queueInfo(queue: string): Promise<QueueInfo | undefined> {
    try {
      return await this.#withChannel(async (channel) => {
        const reply = await channel.checkQueue(queue);
        return { messageCount: reply.messageCount, consumerCount: reply.consumerCount };
      });
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async exchangeExists(exchange: string): Promise<boolean> {
    if (exchange === '') return true;
    try {
      return await this.#withChannel(async (channel) => {
        await channel.checkExchange(exchange);
        return true;
      });
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  /** A reply queue outlives a reconnect, and disappears on its own once nobody has used it for a while. */
  async declareReplyQueue(queue: string, expiresMs: number): Promise<void> {
    await this.#withChannel((channel) => channel.assertQueue(queue, { durable: false, autoDelete: false, arguments: { 'x-queue-type': 'classic', 'x-expires': expiresMs } }));
  }

  /** Removes a queue of this process's own (its reply queue), if it is still there. */
  async deleteQueue(queue: string): Promise<void> {
    await this.#withChannel((channel) => channel.deleteQueue(queue));
  }

  async close(): Promise<void> {
    this.#closed = true;
    const connecting = this.#connection;
    this.#connection = undefined;
    if (connecting) await connecting.then((model) => model.close()).catch(() => undefined);
  }
}

function isNotFound(error: unknown): boolean {
  return error instanceof Error && /NOT_FOUND|404/.test(error.message);
}
