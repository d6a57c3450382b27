/**
 * Where REX jobs live: BullMQ on Redis. A launch is one flow (a parent per batch, one child per
 * host whose job id is Foreman's execution-plan uuid), so a repeated launch finds its jobs
 * instead of running them twice, and every state survives a restart of any proxyhub process.
 * The control role reads and cancels through this store; the rex worker writes through it.
 * Only hub/bus talks to Redis, so the BullMQ workers are built here too (rex-workers.ts).
 */
import { FlowProducer, Queue, type JobType } from 'bullmq';
import type { Redis } from 'ioredis';
import { ProxyhubError, errorMessage } from '../../contracts/errors.ts';
import { rexQueueNames, type Topology } from '../../contracts/topology.ts';
import { outputChunkSchema, rexJobDataSchema, rexProgressSchema, rexResultSchema, type OutputChunk, type RexJobData, type RexProgress, type RexResult } from '../../contracts/rex/job.ts';
import type { Logger } from '../log/logger.ts';
import { createRedisConnection } from './redis.ts';
import type { RedisTarget } from './redis-target.ts';
import { batchDataOf, callbackDataSchema, rexJobDataOf, storedJobState, type BatchData, type CallbackData, type StoredJobState } from './rex-job-data.ts';
import { appendCappedOutput, type OutputKind } from './rex-output-cap.ts';

const DEFAULT_MAX_OUTPUT_BYTES = 4 * 1024 * 1024;

export interface RexJobView {
  readonly id: string;
  readonly data: RexJobData;
  readonly state: StoredJobState;
  readonly progress: RexProgress | undefined;
  readonly result: RexResult | undefined;
  /** Set when BullMQ failed the job (a worker died twice, or a bug): reported as EXCEPTION. */
  readonly failedReason: string | undefined;
  readonly createdAt: number;
  readonly startedAt: number | undefined;
  readonly finishedAt: number | undefined;
}

export interface RexBatchView {
  readonly id: string;
  readonly state: StoredJobState;
  readonly planIds: readonly string[];
  readonly createdAt: number;
  readonly finishedAt: number | undefined;
}

export interface RexStoreOptions {
  readonly redis: RedisTarget;
  readonly topology: Topology;
  readonly logger: Logger;
  /** How long finished jobs stay readable (Foreman's watchdog polls every 10 min). @defaultValue 86400 */
  readonly keepFinishedSeconds: number;
  /**
   * Fail commands at once while Redis is away (the control role: Foreman gets a 503 and retries)
   * instead of queueing them until it is back (the worker: a job's writes must not be lost).
   * @defaultValue false
   */
  readonly failFast?: boolean;
  /** Output bytes stored per job (rex-output-cap.ts); readers of the store need none. @defaultValue 4194304 */
  readonly maxOutputBytes?: number;
}

const unavailable = (error: unknown): ProxyhubError => new ProxyhubError('PROXYHUB_REX_STORE_UNAVAILABLE', `job store: ${errorMessage(error)}`, { cause: error });

const parsed = <T>(schema: { safeParse(value: unknown): { success: true; data: T } | { success: false } }, value: unknown): T | undefined => {
  const result = schema.safeParse(value);
  return result.success ? result.data : undefined;
};

/** What the control role's task API and status page use of the store. */
export type RexTaskStore = Pick<RexJobStore, 'launch' | 'job' | 'batch' | 'output' | 'count' | 'requestCancel' | 'list'>;

export class RexJobStore {
  readonly #options: RexStoreOptions;
  readonly #redis: Redis;
  readonly jobs: Queue;
  readonly batches: Queue;
  readonly callbacks: Queue;
  readonly #flows: FlowProducer;

  constructor(options: RexStoreOptions) {
    this.#options = options;
    this.#redis = createRedisConnection(options.redis, { name: `proxyhub rex store ${options.topology.prefix}`, profile: options.failFast === true ? 'jobs-fail-fast' : 'jobs', logger: options.logger });
    const common = { connection: this.#redis, prefix: options.topology.bullPrefix };
    const keep = { removeOnComplete: { age: options.keepFinishedSeconds }, removeOnFail: { age: options.keepFinishedSeconds } };
    this.jobs = new Queue(rexQueueNames.jobs, { ...common, defaultJobOptions: keep });
    this.batches = new Queue(rexQueueNames.batches, { ...common, defaultJobOptions: keep });
    this.callbacks = new Queue(rexQueueNames.callbacks, { ...common, defaultJobOptions: keep });
    this.#flows = new FlowProducer(common);
    // While Redis is away each of these emits every failed reconnect as 'error'; with no listener
    // BullMQ prints the stack to stderr, around the structured log. The connection's own listener
    // (redis.ts) already logs the outage once and its end; commands fail or wait per the profile.
    for (const queue of [this.jobs, this.batches, this.callbacks]) queue.on('error', () => undefined);
    this.#flows.on('error', () => undefined);
  }

  get topology(): Topology {
    return this.#options.topology;
  }

  /** For readiness: the store's Redis connection, as ioredis sees it (`ready` when usable). */
  get redisStatus(): string {
    return this.#redis.status;
  }

  /**
   * BullMQ's own Prometheus export of the three REX queues (`bullmq_job_count{queue, state}`,
   * completed and failed totals), merged into one group per metric as the text format wants.
   */
  async prometheusMetrics(): Promise<string> {
    const texts = await Promise.all([this.jobs, this.batches, this.callbacks].map((queue) => queue.exportPrometheusMetrics({ prefix: this.#options.topology.prefix })));
    return mergeExpositions(texts);
  }

  async start(): Promise<void> {
    await Promise.all([this.jobs.waitUntilReady(), this.batches.waitUntilReady(), this.callbacks.waitUntilReady()]);
  }

  /**
   * Adds a batch as one flow. Plan ids that already exist are not added again; when all of them
   * exist, the batch they were launched in is returned (Foreman retried a launch it saw fail).
   */
  async launch(batchId: string, children: readonly RexJobData[]): Promise<{ batchId: string; added: number }> {
    try {
      // Checked before anything is written: a worker must never meet data outside the contract.
      rexJobDataSchema.array().parse(children);
      const existing = await Promise.all(children.map((child) => this.jobs.getJob(child.planId)));
      const fresh = children.filter((_, index) => existing[index] === undefined);
      if (fresh.length === 0) {
        const earlier = existing.find((job) => job?.parent?.id)?.parent?.id;
        return { batchId: earlier ?? batchId, added: 0 };
      }
      await this.#flows.add({
        name: 'batch',
        queueName: rexQueueNames.batches,
        data: { batchId, planIds: fresh.map((child) => child.planId), launchedAt: Date.now() } satisfies BatchData,
        opts: { jobId: batchId },
        children: fresh.map((child) => ({
          name: 'run',
          queueName: rexQueueNames.jobs,
          data: { ...child, batchId } satisfies RexJobData,
          // A child that BullMQ fails (worker died twice) must not hold its batch open forever.
          opts: { jobId: child.planId, ignoreDependencyOnFailure: true, attempts: 1 },
        })),
      });
      return { batchId, added: fresh.length };
    } catch (error) {
      throw unavailable(error);
    }
  }

  async job(planId: string): Promise<RexJobView | undefined> {
    try {
      const job = await this.jobs.getJob(planId);
      if (!job) return undefined;
      const state = storedJobState(await job.getState());
      return {
        id: planId,
        data: rexJobDataOf(job),
        state,
        progress: parsed(rexProgressSchema, job.progress),
        result: parsed(rexResultSchema, job.returnvalue),
        failedReason: job.failedReason || undefined,
        createdAt: job.timestamp,
        startedAt: job.processedOn ?? undefined,
        finishedAt: job.finishedOn ?? undefined,
      };
    } catch (error) {
      throw unavailable(error);
    }
  }

  /** Newest first: host jobs not finished (`running`), finished (`stopped`), or both. */
  async list(state: 'running' | 'stopped' | 'all', limit: number): Promise<RexJobView[]> {
    const types: JobType[] = [];
    if (state !== 'stopped') types.push('active', 'waiting', 'delayed', 'prioritized');
    if (state !== 'running') types.push('completed', 'failed');
    try {
      const jobs = await this.jobs.getJobs(types, 0, limit - 1);
      const views = await Promise.all(jobs.filter((job) => job?.id).map((job) => this.job(String(job.id))));
      return views.filter((view): view is RexJobView => view !== undefined).sort((a, b) => b.createdAt - a.createdAt).slice(0, limit);
    } catch (error) {
      throw unavailable(error);
    }
  }

  async batch(batchId: string): Promise<RexBatchView | undefined> {
    try {
      const job = await this.batches.getJob(batchId);
      if (!job) return undefined;
      return { id: batchId, state: storedJobState(await job.getState()), planIds: batchDataOf(job).planIds, createdAt: job.timestamp, finishedAt: job.finishedOn ?? undefined };
    } catch (error) {
      throw unavailable(error);
    }
  }

  async output(planId: string): Promise<OutputChunk[]> {
    try {
      const { logs } = await this.jobs.getJobLogs(planId, 0, -1, true);
      return logs.flatMap((line) => {
        const chunk = parsed(outputChunkSchema, safeJson(line));
        return chunk ? [chunk] : [];
      });
    } catch (error) {
      throw unavailable(error);
    }
  }

  /** Dynflow's counts: `running` = not finished (batches and hosts), `stopped` = finished. */
  async count(state: string): Promise<number> {
    try {
      const [jobs, batches] = await Promise.all([this.jobs.getJobCounts(), this.batches.getJobCounts()]);
      const sum = (counts: Record<string, number>, keys: string[]): number => keys.reduce((total, key) => total + (counts[key] ?? 0), 0);
      const running = sum(jobs, ['waiting', 'active', 'delayed', 'prioritized', 'paused', 'waiting-children']) + sum(batches, ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children']);
      const stopped = sum(jobs, ['completed', 'failed']) + sum(batches, ['completed', 'failed']);
      if (state === 'running') return running;
      if (state === 'stopped') return stopped;
      if (state === 'all') return running + stopped;
      return 0;
    } catch (error) {
      throw unavailable(error);
    }
  }

  /**
   * Marks a job cancelled. The worker running it sees the mark within a second (and kills the
   * script); a job parked in pull mode is woken so it acts at once. Returns whether a job that
   * had not finished was marked.
   */
  async requestCancel(planId: string): Promise<boolean> {
    try {
      const job = await this.jobs.getJob(planId);
      if (!job) return false;
      const state = await job.getState();
      if (state === 'completed' || state === 'failed') return false;
      await this.#redis.set(this.topology.rexCancelKey(planId), String(Date.now()), 'EX', this.#options.keepFinishedSeconds);
      if (state === 'delayed') await job.promote().catch(() => undefined);
      return true;
    } catch (error) {
      throw unavailable(error);
    }
  }

  async cancelRequested(planId: string): Promise<boolean> {
    return (await this.#redis.exists(this.topology.rexCancelKey(planId))) === 1;
  }

  /** Records where a job is; a job already removed has nothing left to record it on. */
  async setProgress(planId: string, progress: RexProgress): Promise<void> {
    await this.jobs.updateJobProgress(planId, progress).catch(ignoreMissingJob);
  }

  /** Wakes a parked job (pull mode) so its processor runs now. */
  async wake(planId: string): Promise<void> {
    const job = await this.jobs.getJob(planId);
    if (job && (await job.getState()) === 'delayed') await job.promote().catch(() => undefined);
  }

  /**
   * Stores a chunk of a job's output, within the job's output cap unless it is one of proxyhub's
   * own notices (few and short, and they say why a job ended). Returns what was stored.
   */
  async appendOutput(planId: string, chunk: OutputChunk, kind: OutputKind = 'counted'): Promise<OutputChunk[]> {
    return appendCappedOutput(this.#redis, this.jobs, planId, chunk, this.#options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES, kind);
  }

  /** Idempotent per plan: a repeated finish (a worker died after queueing it) sends one callback. */
  async enqueueCallback(job: CallbackData): Promise<void> {
    await this.callbacks.add('callback', callbackDataSchema.parse(job), { jobId: `callback-${job.planId}`, attempts: 10_000, backoff: { type: 'capped' } });
  }

  async hostJobs(host: string): Promise<string[]> {
    const members = await this.#redis.zrange(this.topology.rexHostJobsKey(host), '0', '-1');
    return members;
  }

  async addHostJob(host: string, planId: string, at: number): Promise<void> {
    await this.#redis.zadd(this.topology.rexHostJobsKey(host), String(at), planId);
  }

  async removeHostJob(host: string, planId: string): Promise<void> {
    await this.#redis.zrem(this.topology.rexHostJobsKey(host), planId);
  }

  /** Pull jobs that count against the MQTT rate limit now (until their score passes). */
  async pullInFlight(now: number): Promise<number> {
    const key = this.topology.rexPullInFlightKey;
    await this.#redis.zremrangebyscore(key, '-inf', now);
    return this.#redis.zcard(key);
  }

  async markPullInFlight(planId: string, until: number): Promise<void> {
    await this.#redis.zadd(this.topology.rexPullInFlightKey, String(until), planId);
  }

  async clearPullInFlight(planId: string): Promise<void> {
    await this.#redis.zrem(this.topology.rexPullInFlightKey, planId);
  }

  /** Both limits of BullMQ: per worker (its concurrency) and over all workers (this). */
  async setGlobalConcurrency(limit: number): Promise<void> {
    await this.jobs.setGlobalConcurrency(limit);
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.#flows.close(), this.jobs.close(), this.batches.close(), this.callbacks.close()]);
    await this.#redis.quit().catch(() => this.#redis.disconnect());
  }
}

/** BullMQ's scripts refuse to touch a job that is gone ("Missing key for job"); nothing is lost then. */
function ignoreMissingJob(error: unknown): undefined {
  if (error instanceof Error && /Missing key for job/.test(error.message)) return undefined;
  throw error;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * Several expositions as one: the text format wants each metric's HELP, TYPE and samples in one
 * group, and BullMQ writes a full set per queue.
 */
export function mergeExpositions(texts: readonly string[]): string {
  const groups = new Map<string, { header: string[]; samples: string[] }>();
  for (const line of texts.flatMap((text) => text.split('\n'))) {
    const header = /^# (?:HELP|TYPE) (\S+)/.exec(line);
    const name = header?.[1] ?? /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0];
    if (name === undefined) continue;
    let group = groups.get(name);
    if (group === undefined) groups.set(name, (group = { header: [], samples: [] }));
    if (header === null) group.samples.push(line);
    else if (!group.header.some((seen) => seen.startsWith(line.slice(0, 7)))) group.header.push(line);
  }
  return [...groups.values()].flatMap((group) => [...group.header, ...group.samples]).join('\n');
}
