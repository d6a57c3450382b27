/**
 * One recovering AMQP 1.0 connection on rhea. rhea can reconnect on its own, but it re-attaches
 * the old links blindly; proxyhub instead opens a fresh connection and re-runs `setup` (topology,
 * reply queue, links) after every connect, the same shape as the 0-9-1 recovery hook. Given several
 * nodes of a cluster, each attempt after a failure or a loss goes to the next one (rhea's own
 * `connection_details` rotation belongs to its reconnect, which is not used).
 */
import rhea, { type Connection, type ConnectionOptions, type EventContext, type Receiver, type ReceiverOptions, type Sender, type SenderOptions } from 'rhea';
import { RECONNECT_BACKOFF, backoffDelay, withJitter } from '../backoff.ts';
import { BrokerRotation } from '../broker-urls.ts';
import type { AddressScheme } from './addresses.ts';
import type { Logger } from '../../log/logger.ts';
import { redactUrl } from '../../log/logger.ts';
import { installTransferFrames } from './transfer-frames.ts';

/** A dead peer is noticed within about two heartbeats instead of the OS's 11-minute default. */
const IDLE_TIMEOUT_MS = 10_000;
const LINK_OPEN_TIMEOUT_MS = 5000;
/** A set-up stuck on a broker still booting is abandoned and the connect tried again. */
const SETUP_TIMEOUT_MS = 15_000;

function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

/** `amqp10://` and `amqp10s://` say "AMQP 1.0" in the URL itself; `amqp(s)://` work as well. */
export function connectionOptionsFrom(url: string, scheme: AddressScheme, name: string): ConnectionOptions {
  const parsed = new URL(url);
  const tls = parsed.protocol === 'amqps:' || parsed.protocol === 'amqp10s:';
  const vhost = decodeURIComponent(parsed.pathname.replace(/^\//, '')) || '/';
  const options: Record<string, unknown> = {
    host: parsed.hostname.replace(/^\[|\]$/g, ''),
    port: Number(parsed.port || (tls ? 5671 : 5672)),
    transport: tls ? 'tls' : 'tcp',
    // RabbitMQ reads the virtual host from the open frame's hostname ("vhost:<name>").
    hostname: scheme === 'plain' ? parsed.hostname : `vhost:${vhost}`,
    container_id: name,
    id: name,
    reconnect: false,
    idle_time_out: IDLE_TIMEOUT_MS,
    properties: { connection_name: name },
  };
  if (parsed.username) options.username = decodeURIComponent(parsed.username);
  if (parsed.password) options.password = decodeURIComponent(parsed.password);
  // rhea types the TCP and TLS variants apart; which one this is is decided at run time above.
  return options as unknown as ConnectionOptions;
}

export interface RecoveringAmqp10Options {
  /** One broker URL, or several nodes of one cluster comma-separated. */
  readonly url: string;
  readonly name: string;
  readonly scheme: AddressScheme;
  readonly logger: Logger;
  /** Outgoing deliveries rhea keeps per session until the broker settles them. @defaultValue 2048 */
  readonly sessionBufferSize?: number;
  /** Runs after every connect, before the connection counts as up. */
  readonly setup: (connection: Connection) => Promise<void>;
  readonly onDisconnect: (error: Error) => void;
}

export class RecoveringAmqp10Connection {
  #connection: Connection | undefined;
  #closed = false;
  #attempt = 0;
  #timer: NodeJS.Timeout | undefined;
  #firstUp: { resolve(): void; promise: Promise<void> } | undefined;
  readonly #options: RecoveringAmqp10Options;
  readonly #rotation: BrokerRotation;

  constructor(options: RecoveringAmqp10Options) {
    this.#options = options;
    this.#rotation = new BrokerRotation(options.url);
    // Every AMQP 1.0 connection writes its transfer frames without rhea's generic encoder (the module says why).
    installTransferFrames();
  }

  /** The connection while it is up and set up, else undefined. */
  get current(): Connection | undefined {
    return this.#connection;
  }

  /** Resolves after the first successful connect and setup; keeps retrying until then. */
  async start(): Promise<void> {
    let resolve = (): void => undefined;
    const promise = new Promise<void>((r) => {
      resolve = r;
    });
    this.#firstUp = { resolve, promise };
    this.#connect();
    await promise;
  }

  #connect(): void {
    if (this.#closed) return;
    const { logger, name } = this.#options;
    const container = rhea.create_container({ id: name });
    const node = this.#rotation.current;
    const connection = container.connect({ ...connectionOptionsFrom(node, this.#options.scheme, name), session_buffer_size: Math.max(2048, this.#options.sessionBufferSize ?? 0) });
    batchWrites(connection);
    let lost = false;
    const lose = (error: Error): void => {
      if (lost) return;
      lost = true;
      const wasUp = this.#connection === connection;
      this.#connection = undefined;
      if (wasUp) logger.warn({ err: error.message, broker: redactUrl(node) }, 'broker connection lost; reconnecting');
      else logger.warn({ err: error.message, broker: redactUrl(node) }, 'broker connect attempt failed; retrying');
      // That node may be down for good: the next attempt goes to the next one (with one node, the same).
      this.#rotation.advance();
      this.#options.onDisconnect(error);
      this.#scheduleReconnect();
    };
    connection.on('connection_open', () => {
      withTimeout(this.#options.setup(connection), SETUP_TIMEOUT_MS, 'connection set-up')
        .then(() => {
          if (lost || this.#closed) return;
          this.#attempt = 0;
          this.#connection = connection;
          logger.info({ broker: redactUrl(node), transport: 'amqp10' }, 'broker connected');
          this.#firstUp?.resolve();
        })
        .catch((error: unknown) => {
          logger.warn({ err: String(error) }, 'broker connection set-up failed');
          connection.close();
          lose(error instanceof Error ? error : new Error(String(error)));
        });
    });
    connection.on('disconnected', (context: EventContext) => lose(asError(context.error, 'disconnected')));
    // A close frame from the broker (node shutdown, a connection-level error) without a socket error.
    connection.on('connection_close', (context: EventContext) => {
      if (!this.#closed) lose(asError(context.connection.error, 'broker closed the connection'));
    });
    connection.on('connection_error', (context: EventContext) => logger.warn({ err: asError(context.connection.error, 'connection error').message }, 'broker connection error'));
    // Without listeners rhea would throw these from its event emitter; the links handle their own.
    connection.on('error', (error: unknown) => logger.warn({ err: String(error) }, 'broker protocol error'));
    connection.on('session_error', (context: EventContext) => logger.warn({ err: asError(context.session?.error, 'session error').message }, 'broker session error'));
    connection.on('sender_error', (context: EventContext) => logger.warn({ err: asError(context.sender?.error, 'sender error').message }, 'broker sender link error'));
    connection.on('receiver_error', (context: EventContext) => logger.warn({ err: asError(context.receiver?.error, 'receiver error').message }, 'broker receiver link error'));
  }

  #scheduleReconnect(): void {
    if (this.#closed || this.#timer) return;
    const delayMs = withJitter(backoffDelay(RECONNECT_BACKOFF, this.#attempt));
    this.#attempt += 1;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#connect();
    }, delayMs);
    // While waiting for the first connect the process must stay alive to keep trying.
    if (this.#connection !== undefined) this.#timer.unref();
  }

  /** Gives up the current connection at once (the broker announced it is going away); reconnects. */
  drop(reason: string): void {
    const connection = this.#connection;
    if (!connection) return;
    this.#options.logger.warn({ reason }, 'broker is closing connections; dropping the AMQP 1.0 connection');
    // rhea's own abort: ends the socket and reports 'disconnected', which runs the loss handling.
    const internal = connection as unknown as { socket?: unknown; abort_socket(socket: unknown): void };
    internal.abort_socket(internal.socket);
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    const connection = this.#connection;
    this.#connection = undefined;
    this.#firstUp?.resolve();
    if (connection) await closeConnection(connection);
  }
}

/** Closes and waits for the broker's close frame, at most a second: a dead broker does not answer. */
export function closeConnection(connection: Connection): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 1000);
    connection.once('connection_close', () => {
      clearTimeout(timer);
      resolve();
    });
    connection.close();
  });
}

/**
 * rhea writes each frame with its own socket.write, one system call per message under load.
 * Corking the socket around rhea's output turns what one turn produced into a single writev.
 */
function batchWrites(connection: Connection): void {
  const internal = connection as unknown as { output(): void; socket?: { cork?(): void; uncork?(): void } };
  const output = internal.output.bind(connection);
  internal.output = () => {
    const socket = internal.socket;
    socket?.cork?.();
    try {
      output();
    } finally {
      socket?.uncork?.();
    }
  };
}

export function asError(value: unknown, fallback: string): Error {
  if (value instanceof Error) return value;
  if (value && typeof value === 'object' && 'description' in value) return new Error(String(value.description));
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- the last resort for a value that is neither an Error nor an AMQP error
  return new Error(value === undefined ? fallback : String(value));
}

/** Opens a link and waits for the broker's attach; rejects with the broker's reason otherwise. */
export function openSender(connection: Connection, options: SenderOptions): Promise<Sender> {
  return openLink(connection.open_sender(options), 'sender');
}

/** A sender to `address` whose every message the broker settles with its outcome. */
export function openSenderTo(connection: Connection, address: string): Promise<Sender> {
  return openSender(connection, { target: { address }, autosettle: true, treat_modified_as_released: false } as SenderOptions);
}

export function openReceiver(connection: Connection, options: ReceiverOptions): Promise<Receiver> {
  return openLink(connection.open_receiver(options), 'receiver');
}

function openLink<L extends Sender | Receiver>(link: L, kind: 'sender' | 'receiver'): Promise<L> {
  return new Promise<L>((resolve, reject) => {
    const done = (error?: Error): void => {
      clearTimeout(timer);
      link.removeListener(`${kind}_open`, opened);
      link.removeListener(`${kind}_error`, failed);
      link.removeListener(`${kind}_close`, failed);
      if (error) reject(error);
      else resolve(link);
    };
    const opened = (): void => done();
    const failed = (context: EventContext): void => done(asError(context[kind]?.error, `${kind} link refused`));
    const timer = setTimeout(() => {
      link.close();
      done(new Error(`the broker did not attach the ${kind} link within ${LINK_OPEN_TIMEOUT_MS} ms`));
    }, LINK_OPEN_TIMEOUT_MS);
    link.once(`${kind}_open`, opened);
    link.on(`${kind}_error`, failed);
    link.on(`${kind}_close`, failed);
  });
}
