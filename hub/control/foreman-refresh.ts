/**
 * Pushes feature changes to an unmodified Foreman: `PUT /api/v2/smart_proxies/:id/refresh`, the
 * call behind its "Refresh features" button. A burst of changes (a rolling restart, a worker
 * flapping) becomes one call after a quiet period; a Foreman that is down is retried with a
 * growing pause until it answers, and a call that is under way is followed by one more if
 * anything changed meanwhile.
 */
import type { Logger } from '../log/logger.ts';
import { errorMessage } from '../../contracts/errors.ts';

export interface RefreshAnswer {
  readonly status: number;
  readonly body: string;
}

export interface RefresherOptions {
  /** Makes the call; rejects when Foreman could not be reached. */
  readonly call: () => Promise<RefreshAnswer>;
  /** Quiet period after the last change before calling. @defaultValue 1000 */
  readonly debounceMs: number;
  /** Longest a steady stream of changes can postpone the call. @defaultValue 5 × debounceMs */
  readonly maxWaitMs?: number;
  /**
   * Checked when the call is due: when false the call is skipped, and the next trigger tries
   * again. @defaultValue always true
   */
  readonly ready?: () => boolean;
  /** Pauses between attempts while Foreman fails; the last one repeats. */
  readonly retryDelaysMs?: readonly number[];
  readonly logger: Logger;
}

export interface Refresher {
  /** Something Foreman stores changed. */
  trigger(): void;
  close(): void;
}

const DEFAULT_RETRY_DELAYS_MS = [1000, 2000, 5000, 10_000, 30_000, 60_000];

/** Statuses worth another try: Foreman (or its proxy) was unavailable, not wrong. */
function transient(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

export function createRefresher(options: RefresherOptions): Refresher {
  const retryDelays = options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
  const maxWaitMs = options.maxWaitMs ?? options.debounceMs * 5;
  const log = options.logger;
  let timer: NodeJS.Timeout | undefined;
  let firstTriggerAt: number | undefined;
  let running = false;
  let dirty = false;
  let failures = 0;
  let closed = false;

  function schedule(delayMs: number): void {
    clearTimeout(timer);
    timer = setTimeout(() => void run(), delayMs);
    timer.unref();
  }

  async function run(): Promise<void> {
    timer = undefined;
    firstTriggerAt = undefined;
    if (options.ready && !options.ready()) {
      log.info('nothing to tell Foreman now; refresh skipped');
      return;
    }
    running = true;
    dirty = false;
    let retry = false;
    try {
      const answer = await options.call();
      if (answer.status >= 200 && answer.status < 300) {
        failures = 0;
        log.info({ status: answer.status }, 'Foreman refreshed the proxy features');
      } else if (transient(answer.status)) {
        retry = true;
        log.warn({ status: answer.status, body: answer.body.slice(0, 300) }, 'Foreman feature refresh failed; retrying');
      } else {
        failures = 0;
        // A 422 ("no features", "not recognized") or a 401/403/404 (credentials, proxy id) is
        // Foreman's answer to this state: the next change tries again, a retry would not help.
        log.error({ status: answer.status, body: answer.body.slice(0, 300) }, 'Foreman refused the feature refresh');
      }
    } catch (error) {
      retry = true;
      log.warn({ err: errorMessage(error) }, 'Foreman not reachable for the feature refresh; retrying');
    } finally {
      running = false;
    }
    if (closed) return;
    if (retry) {
      const delay = retryDelays[Math.min(failures, retryDelays.length - 1)] ?? 60_000;
      failures += 1;
      schedule(delay);
    } else if (dirty) trigger();
  }

  function trigger(): void {
    if (closed) return;
    if (running) {
      dirty = true;
      return;
    }
    // Waiting out a failure: the retry sends the newest state anyway.
    if (failures > 0 && timer !== undefined) return;
    const now = Date.now();
    firstTriggerAt ??= now;
    schedule(Math.max(0, Math.min(options.debounceMs, firstTriggerAt + maxWaitMs - now)));
  }

  return {
    trigger,
    close() {
      closed = true;
      clearTimeout(timer);
    },
  };
}

/** What the push watches: feature changes, and instances coming and going (leadership). */
export interface RefreshSource {
  subscribe(listener: () => void): () => void;
  subscribeInstances(listener: () => void): () => void;
}

/**
 * Triggers the refresher whenever what Foreman stores changes, while this replica leads; and once
 * when it starts or takes over the lead, because changes made while no leading control ran would
 * otherwise never reach Foreman. One leader, so several replicas send one refresh per burst.
 */
export function refreshOnFeatureChanges(source: RefreshSource, digest: () => string, refresher: Refresher, isLeader: () => boolean): () => void {
  let last = digest();
  let leading = isLeader();
  if (leading) refresher.trigger();
  const offFeatures = source.subscribe(() => {
    const next = digest();
    if (next === last) return;
    last = next;
    if (isLeader()) refresher.trigger();
  });
  const offInstances = source.subscribeInstances(() => {
    const now = isLeader();
    if (now && !leading) refresher.trigger();
    leading = now;
  });
  return () => {
    offFeatures();
    offInstances();
  };
}

/**
 * The leading control replica: the live control instance with the smallest id, or this one while
 * none with a smaller id is live. Every replica sees the same instances, so they agree.
 */
export function leadsControlReplicas(selfId: string, instances: ReadonlyArray<{ readonly announcement: { readonly instanceId: string; readonly roles: readonly string[] } }>): boolean {
  return !instances.some((record) => record.announcement.roles.includes('control') && record.announcement.instanceId < selfId);
}
