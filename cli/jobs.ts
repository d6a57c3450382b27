/**
 * `proxyhub jobs list|show`: REX jobs as they are in Redis, for an operator who wants to know what
 * ran where without asking Foreman. Read-only; cancel through Foreman (it owns the task).
 */
import { createTopology } from '../contracts/topology.ts';
import { loadConfig } from '../hub/config/load.ts';
import { createLogger } from '../hub/log/logger.ts';
import { RexJobStore, type RexJobView } from '../hub/jobs/rex-job-store.ts';

async function withStore<T>(work: (store: RexJobStore) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const store = new RexJobStore({ redisUrl: config.redisUrl, topology: createTopology(config.prefix), logger: createLogger('silent'), keepFinishedSeconds: config.rex.keepFinishedSeconds, failFast: true });
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
  const header = ['PLAN', 'HOST', 'STATE', 'STEP', 'EXIT', 'LAUNCHED', 'FOREMAN TASK'];
  const rows = jobs.map((job) => [job.id, job.data.input.hostname, job.state, job.progress?.state ?? 'queued', exitOf(job), new Date(job.createdAt).toISOString(), String(job.data.input.callback.task_id)]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  return [header, ...rows].map((row) => row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ').trimEnd()).join('\n');
}

export async function runJobs(action: string | undefined, rest: readonly string[], options: { state?: string | undefined; limit?: string | undefined; json: boolean }): Promise<number> {
  switch (action) {
    case 'list': {
      const state = options.state ?? 'all';
      if (state !== 'running' && state !== 'stopped' && state !== 'all') throw new Error('--state must be running, stopped or all');
      const jobs = await withStore((store) => store.list(state, Number(options.limit ?? 50)));
      process.stdout.write(`${options.json ? JSON.stringify(jobs.map(({ data: { input: { secrets: _secrets, script: _script, ...input }, ...data }, ...job }) => ({ ...job, data: { ...data, input } })), null, 2) : formatJobs(jobs)}\n`);
      return 0;
    }
    case 'show': {
      const id = rest[0];
      if (!id) throw new Error('jobs show needs an execution-plan uuid');
      const found = await withStore(async (store) => {
        const job = await store.job(id);
        return job && { job, output: await store.output(id) };
      });
      if (!found) {
        process.stderr.write(`no REX job ${id}\n`);
        return 1;
      }
      const { secrets: _secrets, ...input } = found.job.data.input;
      process.stdout.write(`${JSON.stringify({ ...found.job, data: { ...found.job.data, input }, output: found.output }, null, 2)}\n`);
      return 0;
    }
    default:
      throw new Error(`unknown jobs action ${action ?? '(none)'}: use list or show`);
  }
}
