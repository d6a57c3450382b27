/**
 * The consumers a transport was asked for, kept so that each is attached again after every
 * reconnect, and re-attached with growing pauses when the broker drops it under a live connection
 * (its queue deleted, the consumer cancelled). A transport supplies how to open one link (a 0-9-1
 * channel, a 1.0 receiver); the bookkeeping and the back-off are the same for both.
 */
import type { Logger } from '../log/logger.ts';
import { REATTACH_BACKOFF, backoffDelay } from './backoff.ts';
import type { DeliveryHandler } from './transport.ts';

export interface Registration<L> {
  readonly queue: string;
  readonly handler: DeliveryHandler;
  readonly prefetch: number;
  /** The open channel or link; absent before the first attach and after a loss. */
  link?: L;
  cancelled: boolean;
  /** Set while a link is being opened, so a racing setup does not attach twice. */
  attaching: boolean;
  /** Consecutive failed attaches, for the re-attach back-off. */
  failures: number;
}

export interface ConsumerRegistrationsOptions<C, R> {
  readonly logger: Logger;
  /** Opens the link of one registration on `connection`, setting `registration.link`. */
  readonly open: (connection: C, registration: R) => Promise<void>;
  /** The connection the transport is on now; undefined while it is down. */
  readonly current: () => C | undefined;
}

export class ConsumerRegistrations<C, L, R extends Registration<L> = Registration<L>> {
  readonly #all: R[] = [];
  #closed = false;
  readonly #options: ConsumerRegistrationsOptions<C, R>;

  constructor(options: ConsumerRegistrationsOptions<C, R>) {
    this.#options = options;
  }

  add(registration: R): void {
    this.#all.push(registration);
  }

  /** After a reconnect: every registration not cancelled, one after the other. */
  async attachAll(connection: C): Promise<void> {
    for (const registration of this.#all) {
      if (!registration.cancelled) await this.attach(connection, registration);
    }
  }

  async attach(connection: C, registration: R): Promise<void> {
    if (registration.cancelled || registration.attaching || registration.link) return;
    registration.attaching = true;
    try {
      await this.#options.open(connection, registration);
      registration.failures = 0;
    } finally {
      registration.attaching = false;
    }
  }

  /** After the broker dropped a link under a live connection: try again, with growing pauses. */
  reattachLater(connection: C, registration: R): void {
    const { current, logger } = this.#options;
    if (current() !== connection || registration.cancelled || this.#closed) return;
    setTimeout(() => {
      if (current() !== connection) return;
      this.attach(connection, registration).catch((error: unknown) => {
        registration.failures += 1;
        logger.warn({ err: String(error), queue: registration.queue, retryInMs: backoffDelay(REATTACH_BACKOFF, registration.failures) }, 'cannot consume; retrying');
        this.reattachLater(connection, registration);
      });
    }, backoffDelay(REATTACH_BACKOFF, registration.failures)).unref();
  }

  /** The consumer closes: nothing is re-attached any more. */
  close(): void {
    this.#closed = true;
  }

  /** The connection is gone, and every link with it; the next setup attaches them anew. */
  forgetLinks(): void {
    for (const registration of this.#all) delete registration.link;
  }
}
