/**
 * Event ids of uploads answered 503 after their message went out: a resend of the same content
 * travels under the same id, so the worker's dedup (keyed by event id) delivers the upload once.
 *
 * Why: a 503 is not always a refusal. `PROXYHUB_BUS_TIMEOUT` means the broker did not confirm in
 * time, and a confirm that comes late still leaves the message queued; the client is told to
 * retry (Retry-After), and without this Foreman would import its facts or report twice. A 503
 * whose message never reached a queue costs nothing here: the resend under the old id is simply
 * the first copy the worker sees.
 *
 * Only content the ingress refused is remembered, for a few minutes: identical uploads that were
 * both accepted (a host whose facts did not change) are never folded into one. The memory is
 * bounded and shared by the processes of one ingress (`share`, resend-share.ts); with several
 * ingresses behind a load balancer a resend that lands on another one is delivered twice, as
 * before. While nothing is remembered an upload costs nothing extra;
 * after a 503, each upload costs a hash of its data until the memory is empty again.
 */
import { createHash } from 'node:crypto';
import type { Envelope } from '../../contracts/envelope.ts';

export interface ResendIds {
  /** The envelope to publish: `proposed` itself, or under the id of a refused upload of the same content. */
  reuse<E extends Envelope>(proposed: E): E;
  /** `envelope` was answered 503 after it was published: a resend gets its id. */
  remember(envelope: Envelope): void;
  /** `envelope` was accepted: a later upload of the same content is a new one. */
  forget(envelope: Envelope): void;
  readonly size: number;
}

/** What one process of an ingress tells the others, so that a resend on another connection finds its id. */
export type ResendIdsChange = { readonly op: 'remember'; readonly key: string; readonly id: string; readonly until: number } | { readonly op: 'forget'; readonly key: string };

/** The other processes of this ingress: what this one remembers and forgets goes to them, theirs comes here. */
export interface ResendShare {
  publish(change: ResendIdsChange): void;
  subscribe(apply: (change: ResendIdsChange) => void): void;
}

export interface ResendIdsOptions {
  /** @defaultValue none: this process only */
  readonly share?: ResendShare | undefined;
  /** How long a refused upload's id is kept. @defaultValue 10 minutes (Retry-After is seconds) */
  readonly keepMs?: number;
  /** Ids kept at most; the oldest go first. @defaultValue 10,000 */
  readonly maxEntries?: number;
  readonly now?: () => number;
}

/** What makes two uploads the same: type, who sent it, about whom, and the data, not id or time. */
function contentKey(envelope: Envelope): string {
  return createHash('sha256')
    .update(`${envelope.type}\0${envelope.clientcn ?? ''}\0${envelope.subject ?? ''}\0`)
    .update(JSON.stringify(envelope.data))
    .digest('base64');
}

export function createResendIds(options: ResendIdsOptions = {}): ResendIds {
  const keepMs = options.keepMs ?? 10 * 60_000;
  const maxEntries = options.maxEntries ?? 10_000;
  const now = options.now ?? Date.now;
  /** Insertion order is expiry order: every entry is kept equally long. */
  const ids = new Map<string, { readonly id: string; readonly until: number }>();

  const keep = (key: string, id: string, until: number): void => {
    ids.delete(key);
    ids.set(key, { id, until });
    while (ids.size > maxEntries) ids.delete(ids.keys().next().value as string);
  };
  options.share?.subscribe((change) => {
    if (change.op === 'remember') keep(change.key, change.id, change.until);
    else ids.delete(change.key);
  });

  const dropExpired = (): void => {
    for (const [key, entry] of ids) {
      if (entry.until > now()) return;
      ids.delete(key);
    }
  };

  return {
    reuse(proposed) {
      if (ids.size === 0) return proposed;
      dropExpired();
      const entry = ids.size === 0 ? undefined : ids.get(contentKey(proposed));
      return entry === undefined ? proposed : { ...proposed, id: entry.id };
    },
    remember(envelope) {
      const key = contentKey(envelope);
      const until = now() + keepMs;
      keep(key, envelope.id, until);
      options.share?.publish({ op: 'remember', key, id: envelope.id, until });
    },
    forget(envelope) {
      if (ids.size === 0) return;
      const key = contentKey(envelope);
      if (ids.delete(key)) options.share?.publish({ op: 'forget', key });
    },
    get size() {
      return ids.size;
    },
  };
}
