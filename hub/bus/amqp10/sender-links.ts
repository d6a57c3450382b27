/**
 * The sender links of one AMQP 1.0 connection, one per target, opened on first use and shared by
 * every send to that target. A failed attach is not remembered (the node may exist on the next
 * try), and a link the broker detaches (its node deleted) is dropped so the next send attaches
 * anew. After a reconnect the caller starts a fresh set: links die with their connection.
 */
import type { Sender } from 'rhea';

export class SenderLinks {
  /** Target → the link, or its attach in progress. */
  #links = new Map<string, Promise<Sender>>();
  /** The same links once attached, for a send without awaiting anything. */
  #attached = new Map<string, Sender>();

  /** The link to `target` if it is attached already. */
  ready(target: string): Sender | undefined {
    return this.#attached.get(target);
  }

  /** The link to `target`, attached with `attach` when there is none yet. */
  get(target: string, attach: () => Promise<Sender>): Promise<Sender> {
    const existing = this.#links.get(target);
    if (existing) return existing;
    // The maps of this connection: a late answer must not touch the set of the next one.
    const links = this.#links;
    const attached = this.#attached;
    const link = attach();
    links.set(target, link);
    const forget = (): void => {
      if (links.get(target) !== link) return;
      links.delete(target);
      attached.delete(target);
    };
    link.then((sender) => {
      if (links.get(target) === link) attached.set(target, sender);
      sender.on('sender_close', forget);
    }, forget);
    return link;
  }

  /** Forgets every link: the connection they were on is gone or replaced. */
  reset(): void {
    this.#links = new Map();
    this.#attached = new Map();
  }
}
