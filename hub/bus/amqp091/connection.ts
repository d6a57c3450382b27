/**
 * One recovering AMQP connection, on amqplib's own opt-in recovery: it reconnects with
 * jittered backoff and re-runs `setup` (channels, topology, consumers) after every connect.
 * Given several nodes of a cluster, each attempt after a failure or a loss goes to the next one.
 */
import amqplib, { type ChannelModel, type Options, type RecoveringChannelModel } from 'amqplib';
import type { Logger } from '../../log/logger.ts';
import { RECONNECT_BACKOFF } from '../backoff.ts';
import { BrokerRotation } from '../broker-urls.ts';
import { redactUrl } from '../../log/logger.ts';

export interface RecoveringConnectionOptions {
  /** One broker URL, or several nodes of one cluster comma-separated. */
  readonly url: string;
  /** Shown in the broker's management UI, so operators can tell roles apart. */
  readonly name: string;
  readonly logger: Logger;
  readonly setup: (model: ChannelModel) => Promise<void>;
  readonly onDisconnect: (error: Error) => void;
  readonly onBlocked?: (reason: string) => void;
  readonly onUnblocked?: () => void;
  /** How long a set-up may wait before each error line; tests shorten it. @defaultValue 15 s */
  readonly setupPatienceMs?: number;
}

/**
 * A broker can accept the connection and then never answer a declaration (RabbitMQ 3.10 wedges
 * so when quorum queues with at-least-once dead-lettering are deleted just after a node boot).
 * The set-up is not abandoned (a slow but healthy broker would then never finish it), but the
 * wait is logged as an error every this often, so that the hub never hangs silently.
 */
const SETUP_PATIENCE_MS = 15_000;
const SETUP_STALLED_MESSAGE = 'broker set-up (channels, topology, consumers) is not finishing; still waiting: the broker answers the connection but not its declarations (see README "Known broker issues")';

/** A dead peer is noticed within about two heartbeats instead of the OS's 11-minute default. */
const HEARTBEAT_SECONDS = 5;

function numberParameter(url: URL, name: string, fallback: number): number {
  const value = url.searchParams.get(name);
  return value === null || value === '' ? fallback : Number(value);
}

/**
 * amqplib's recovery reconnects to the one address it was given; handed this object instead of a
 * URL string, it reads the fields of whichever node the rotation points at on every attempt. Each
 * field reads as amqplib reads the same URL string (its defaults, its query parameters).
 */
class RotatingEndpoint implements Options.Connect {
  readonly #rotation: BrokerRotation;

  constructor(rotation: BrokerRotation) {
    this.#rotation = rotation;
  }

  get #url(): URL {
    return new URL(this.#rotation.current);
  }

  get protocol(): string {
    return this.#url.protocol.replace(/:$/, '');
  }

  get hostname(): string {
    return this.#url.hostname.replace(/^\[|\]$/g, '');
  }

  get port(): number {
    const url = this.#url;
    return url.port === '' ? (url.protocol === 'amqps:' ? 5671 : 5672) : Number(url.port);
  }

  /** A URL without credentials logs in as guest, as amqplib does for a URL string. */
  get username(): string {
    const url = this.#url;
    return url.username === '' && url.password === '' ? 'guest' : decodeURIComponent(url.username);
  }

  get password(): string {
    const url = this.#url;
    return url.username === '' && url.password === '' ? 'guest' : decodeURIComponent(url.password);
  }

  /** Still escaped: amqplib unescapes the virtual host itself. */
  get vhost(): string {
    return this.#url.pathname.slice(1) || '/';
  }

  get heartbeat(): number {
    return numberParameter(this.#url, 'heartbeat', HEARTBEAT_SECONDS);
  }

  get frameMax(): number {
    return numberParameter(this.#url, 'frameMax', 131_072);
  }

  get channelMax(): number {
    return numberParameter(this.#url, 'channelMax', 0);
  }

  get locale(): string {
    return this.#url.searchParams.get('locale') || 'en_US';
  }
}

export async function openRecoveringConnection(options: RecoveringConnectionOptions): Promise<RecoveringChannelModel> {
  const { logger } = options;
  const rotation = new BrokerRotation(options.url);
  const connection = await amqplib.connect(new RotatingEndpoint(rotation), {
    clientProperties: { connection_name: options.name },
    // Nagle's algorithm stays on: under load it coalesces amqplib's one write per publish into
    // fewer segments. Measured with the ingress benchmark, TCP_NODELAY cost ~15 % of throughput
    // and raised p99 (more broker CPU per message).
    noDelay: false,
    recovery: {
      // amqplib's own jittered doubling, with the pauses of every other reconnect in proxyhub.
      initialDelay: RECONNECT_BACKOFF.initialMs,
      maxDelay: RECONNECT_BACKOFF.maxMs,
      waitForConnect: false,
      // amqplib binds its own listeners only after setup: one of ours must be there first, or a
      // connection error during setup (a reset, a refused declaration) crashes the process.
      setup: async (model: ChannelModel) => {
        model.on('error', (error: Error) => logger.warn({ err: error.message }, 'broker connection error during set-up'));
        const started = Date.now();
        const watchdog = setInterval(() => {
          logger.error({ waitedMs: Date.now() - started, broker: redactUrl(rotation.current) }, SETUP_STALLED_MESSAGE);
        }, options.setupPatienceMs ?? SETUP_PATIENCE_MS).unref();
        try {
          await options.setup(model);
        } finally {
          clearInterval(watchdog);
        }
      },
    },
  });
  connection.on('connect', () => logger.info({ broker: redactUrl(rotation.current) }, 'broker connected'));
  // The node just lost or refused may be down for good: the next attempt goes to the next node
  // (with one node, the same one again).
  connection.on('disconnect', (error: Error) => {
    logger.warn({ err: error.message, broker: redactUrl(rotation.current) }, 'broker connection lost; reconnecting');
    rotation.advance();
    options.onDisconnect(error);
  });
  connection.on('connect-failed', (error: Error) => {
    logger.warn({ err: error.message, broker: redactUrl(rotation.current) }, 'broker connect attempt failed; retrying');
    rotation.advance();
  });
  connection.on('blocked', (reason: string) => {
    logger.warn({ reason }, 'broker blocked publishing');
    options.onBlocked?.(reason);
  });
  connection.on('unblocked', () => {
    logger.info('broker unblocked publishing');
    options.onUnblocked?.();
  });
  // Without a listener an 'error' event would crash the process; recovery handles the rest.
  connection.on('error', (error: Error) => logger.warn({ err: error.message }, 'broker connection error'));
  connection.on('handler-error', (error: Error, event: string) => logger.error({ err: error, event }, 'broker event handler threw'));
  return connection;
}
