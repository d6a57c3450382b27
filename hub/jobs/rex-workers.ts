/**
 * The BullMQ workers of the rex feature, built here so that nothing above hub/jobs imports
 * BullMQ: the rex worker hands in plain functions and gets `start`/`close`.
 *
 * A job whose worker died is not run again: BullMQ finds it stalled (its lock expired) and puts
 * it back once (`maxStalledCount: 1`); the processor then sees the `running` progress it left and
 * reports the job as EXCEPTION instead of running a script twice. A job that stalls again is
 * failed by BullMQ, and `onFailed` reports that too.
 */
import { DelayedError, Worker, type Job } from 'bullmq';
import { rexQueueNames } from '../../contracts/topology.ts';
import { rexProgressSchema, type OutputChunk, type RexJobData, type RexProgress, type RexResult } from '../../contracts/rex/job.ts';
import type { Redis } from 'ioredis';
import { batchDataOf, callbackDataOf, rexJobDataOf, type CallbackData } from './rex-job-data.ts';
import type { RexJobStore } from './rex-job-store.ts';
import { createRedisConnection } from './redis.ts';
import type { RedisTarget } from './redis-target.ts';
import { backoffDelay } from '../bus/backoff.ts';
import type { Logger } from '../log/logger.ts';

export interface RexJobHandle {
  readonly id: string;
  readonly data: RexJobData;
  readonly progress: RexProgress | undefined;
  setProgress(progress: RexProgress): Promise<void>;
  appendOutput(chunk: OutputChunk): Promise<void>;
  /** Parks the job until `untilMs` (or until woken); a processor that parks returns what this throws. */
  park(untilMs: number): Promise<never>;
}

export type RexProcessor = (job: RexJobHandle) => Promise<RexResult>;

export interface RexWorkerSettings {
  readonly redis: RedisTarget;
  readonly logger: Logger;
  /** Jobs one process runs at once. */
  readonly concurrency: number;
  /** A job whose lock is not renewed for this long is stalled (its worker died). */
  readonly lockDurationMs: number;
  /** Longest wait between callback attempts. */
  readonly callbackBackoffMaxMs: number;
  /** How long close() lets running jobs finish before it lets go of them (they then stall). */
  readonly shutdownGraceMs: number;
}

export interface RexWorkers {
  start(): Promise<void>;
  close(): Promise<void>;
}

export interface RexWorkerHandlers {
  readonly process: RexProcessor;
  /** Sends one callback; throws to be retried with backoff. */
  readonly sendCallback: (job: CallbackData) => Promise<void>;
  /** BullMQ failed a job outright (stalled twice): report it. */
  readonly onFailed: (planId: string, data: RexJobData, reason: string) => Promise<void>;
}

function handleOf(job: Job, token: string | undefined, store: RexJobStore): RexJobHandle {
  const progress = rexProgressSchema.safeParse(job.progress);
  return {
    id: String(job.id),
    data: rexJobDataOf(job),
    progress: progress.success ? progress.data : undefined,
    setProgress: (next) => job.updateProgress(next),
    appendOutput: async (chunk) => {
      await store.appendOutput(String(job.id), chunk);
    },
    async park(untilMs) {
      await job.moveToDelayed(untilMs, token);
      // A host's exit update or a cancel that arrived during this turn could not wake the job
      // (it was active then): look once more, now that it is parked.
      const fresh = await store.job(String(job.id));
      if (fresh?.progress?.exit || (await store.cancelRequested(String(job.id)))) await store.wake(String(job.id));
      throw new DelayedError();
    },
  };
}

export function createRexWorkers(store: RexJobStore, settings: RexWorkerSettings, handlers: RexWorkerHandlers): RexWorkers {
  const prefix = store.topology.bullPrefix;
  const workers: Worker[] = [];
  // BullMQ leaves connections it was handed open at close: these are ours to quit.
  const connections: Redis[] = [];
  const connection = (name: string): Redis => {
    const redis = createRedisConnection(settings.redis, { name: `proxyhub rex ${name}`, profile: 'jobs', logger: settings.logger });
    connections.push(redis);
    return redis;
  };
  // A stalled job is found within two checks: check as often as the lock runs out.
  const common = { prefix, autorun: false, lockDuration: settings.lockDurationMs, stalledInterval: settings.lockDurationMs, maxStalledCount: 1 } as const;

  const jobs = new Worker(rexQueueNames.jobs, (job, token) => handlers.process(handleOf(job, token, store)), { ...common, connection: connection('jobs'), concurrency: settings.concurrency });
  jobs.on('failed', (job, error) => {
    // A parked job "fails" with DelayedError inside BullMQ's bookkeeping only; real failures report.
    if (!job || error instanceof DelayedError || error.name === 'DelayedError') return;
    void Promise.resolve()
      .then(() => handlers.onFailed(String(job.id), rexJobDataOf(job), error.message))
      .catch((failure: unknown) => settings.logger.error({ err: String(failure), planId: job.id }, 'failed job not reported'));
  });
  // The batch parent runs once every host finished: nothing to do but to exist as Foreman's task.
  const batches = new Worker(rexQueueNames.batches, async (job) => ({ planIds: batchDataOf(job).planIds.length }), { ...common, connection: connection('batches') });
  const callbacks = new Worker(rexQueueNames.callbacks, (job) => handlers.sendCallback(callbackDataOf(job)), {
    ...common,
    connection: connection('callbacks'),
    concurrency: 16,
    settings: { backoffStrategy: (attemptsMade: number) => backoffDelay({ initialMs: 500, maxMs: settings.callbackBackoffMaxMs }, attemptsMade) },
  });
  workers.push(jobs, batches, callbacks);
  for (const worker of workers) worker.on('error', (error) => settings.logger.warn({ err: error.message, queue: worker.name }, 'rex worker error'));

  return {
    async start() {
      for (const worker of workers) void worker.run();
      await Promise.all(workers.map((worker) => worker.waitUntilReady()));
    },
    async close() {
      const graceful = Promise.allSettled(workers.map((worker) => worker.close()));
      const timer = new Promise<'late'>((resolve) => setTimeout(() => resolve('late'), settings.shutdownGraceMs).unref());
      if ((await Promise.race([graceful, timer])) === 'late') {
        settings.logger.warn('rex jobs still running at shutdown; a restarted worker reports them');
        await Promise.allSettled(workers.map((worker) => worker.close(true)));
      }
      await Promise.allSettled(connections.map((redis) => redis.quit().catch(() => redis.disconnect())));
    },
  };
}
