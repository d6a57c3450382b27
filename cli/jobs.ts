/**
 * `proxyhub jobs list|show|cancel`: REX jobs as they are in Redis, for an operator who wants to
 * know what ran where without asking Foreman, and to stop one. A cancel is the one Foreman's
 * `POST /dynflow/tasks/:id/cancel` makes: the worker stops the script and tells Foreman the job
 * ended, so Foreman's task does not hang on a job stopped behind its back.
 */
import { createTopology } from '../contracts/topology.ts';
import { loadConfig } from '../hub/config/load.ts';
import type { Config } from '../hub/config/schema.ts';
import { createLogger } from '../hub/log/logger.ts';
import { RexJobStore, type RexJobView } from '../hub/jobs/rex-job-store.ts';
import { exitCodes, usageError } from './exit-codes.ts';
import { formatTable } from './table.ts';
import { redisTargetOf } from '../hub/jobs/redis-target.ts';

export function createRexStore(config: Config): RexJobStore {
  const store = new RexJobStore({ redis: redisTargetOf(config), topology: createTopology(config.prefix), logger: createLogger('silent'), keepFinishedSeconds: config.rex.keepFinishedSeconds, failFast: true });
  // A command reports Redis being down once, from the command's own promise; BullMQ's queues
  // would otherwise print every reconnect attempt's error.
  for (const queue of [store.jobs, store.batches, store.callbacks]) queue.on('error', () => undefined);
  return store;
}

async function withRexStore<T>(work: (store: RexJobStore) => Promise<T>): Promise<T> {
  const store = createRexStore(loadConfig());
  try {
    await store.start();
    return await work(store);
  } finally {
    await store.close();
  }
}

const exitOf = (job: RexJobView): string => String(job.result?.exit_status ?? (job.state === 'failed' ? 'EXCEPTION' : '-'));

export function formatJobs(jobs: readonly RexJobView[]): string {
  if (jobs.length === 0) return 'no REX jobs';
  const rows = jobs.map((job) => [job.id, job.data.input.hostname, job.state, job.progress?.state ?? 'queued', exitOf(job), new Date(job.createdAt).toISOString(), String(job.data.input.callback.task_id)]);
  return formatTable(['PLAN', 'HOST', 'STATE', 'STEP', 'EXIT', 'LAUNCHED', 'FOREMAN TASK'], rows);
}

/** A job as printed: no secrets, and (in a list) no script. */
function printable(job: RexJobView, keepScript: boolean): unknown {
  const { secrets: _secrets, script, ...input } = job.data.input;
  return { ...job, data: { ...job.data, input: keepScript ? { ...input, script } : input } };
}

export interface JobsFlags {
  readonly state?: string | undefined;
  readonly limit?: string | undefined;
  readonly json: boolean;
}

const print = (text: string): void => void process.stdout.write(`${text}\n`);

async function cancel(id: string, json: boolean): Promise<number> {
  const outcome = await withRexStore(async (store) => {
    const batch = await store.batch(id);
    const targets = batch ? batch.planIds : [id];
    if (!batch && !(await store.job(id))) return undefined;
    const stopped = await Promise.all(targets.map((planId) => store.requestCancel(planId)));
    return { id, jobs: targets.length, cancelled: stopped.filter(Boolean).length };
  });
  if (!outcome) {
    process.stderr.write(`no REX job or batch ${id}\n`);
    return exitCodes.notFound.code;
  }
  print(json ? JSON.stringify(outcome) : `${id}: cancel requested for ${outcome.cancelled} of ${outcome.jobs} job(s)${outcome.cancelled < outcome.jobs ? ' (the others had ended already)' : ''}`);
  return exitCodes.ok.code;
}

export async function runJobs(action: string | undefined, rest: readonly string[], flags: JobsFlags): Promise<number> {
  switch (action) {
    case 'list': {
      const state = flags.state ?? 'all';
      if (state !== 'running' && state !== 'stopped' && state !== 'all') throw usageError('--state must be running, stopped or all');
      const limit = Number(flags.limit ?? 50);
      if (!Number.isInteger(limit) || limit < 1) throw usageError(`--limit ${flags.limit ?? ''}: give a whole number above 0`);
      const jobs = await withRexStore((store) => store.list(state, limit));
      print(flags.json ? JSON.stringify(jobs.map((job) => printable(job, false)), null, 2) : formatJobs(jobs));
      return exitCodes.ok.code;
    }
    case 'show': {
      const id = rest[0];
      if (!id) throw usageError('jobs show needs an execution-plan uuid');
      const found = await withRexStore(async (store) => {
        const job = await store.job(id);
        return job && { job, output: await store.output(id) };
      });
      if (!found) {
        process.stderr.write(`no REX job ${id}\n`);
        return exitCodes.notFound.code;
      }
      print(JSON.stringify({ ...(printable(found.job, true) as object), output: found.output }, null, 2));
      return exitCodes.ok.code;
    }
    case 'cancel': {
      const id = rest[0];
      if (!id) throw usageError('jobs cancel needs an execution-plan or batch uuid');
      return cancel(id, flags.json);
    }
    default:
      throw usageError(`unknown jobs action ${action ?? '(none)'}: use list, show or cancel`);
  }
}
