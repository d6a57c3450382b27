/**
 * REX jobs over SSH under a Redis fault (restart, Sentinel failover): many jobs launched through
 * the control role as Foreman would, each script writing its plan id to a log on the host when it
 * starts, and the checks that hold afterwards: one callback per job at Foreman with exit 0 and
 * the job's own output, each script run on the host exactly once, no task left running.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Test } from 'tap';
import { hostJob, launchBody, stdoutOf, type HostJob } from './rex.ts';
import type { TestSshd } from './sshd.ts';
import type { RexCallback, TestForeman } from './test-foreman.ts';
import { holdsFor, waitFor } from './wait-for.ts';

/** Foreman's batch triggering launches this many hosts per request. */
const BATCH = 50;

export interface RexSshLoad {
  readonly jobs: readonly HostJob[];
  /** Plan ids of the scripts the host started, in order (the side effect counted "ran once"). */
  started(): string[];
  callbacksOf(job: HostJob): RexCallback[];
  /** Launches every job, in batches as Foreman does; each batch must be answered 200. */
  launch(t: Test): Promise<void>;
  /** Waits for a callback per job; resolves with the milliseconds it took. */
  everyCallback(timeoutMs: number): Promise<number>;
  /** The checks above, exactly: nothing lost, nothing run or reported twice. */
  assertEachRanOnce(t: Test): Promise<void>;
}

export interface RexSshLoadOptions {
  readonly sshd: TestSshd;
  readonly foreman: TestForeman;
  /** The control role's base URL. */
  readonly controlUrl: string;
  /** A multiple of 50. */
  readonly jobs: number;
  readonly scriptSeconds: number;
}

export function createRexSshLoad(options: RexSshLoadOptions): RexSshLoad {
  const { sshd, foreman, controlUrl } = options;
  const ranLog = join(sshd.dir, 'ran.log');
  writeFileSync(ranLog, '');
  const script = (planId: string): string => `echo ${planId} >> ${ranLog}\nsleep ${options.scriptSeconds}\necho done ${planId}\n`;
  const jobs: HostJob[] = [];
  for (let i = 0; i < options.jobs; i += 1) {
    const placeholder = hostJob('127.0.0.1', '', { ssh_port: sshd.port });
    jobs.push({ ...placeholder, input: { ...placeholder.input, script: script(placeholder.planId) } });
  }
  const started = (): string[] => readFileSync(ranLog, 'utf8').split('\n').filter(Boolean);
  const callbacksOf = (job: HostJob): RexCallback[] => foreman.callbacks.filter((c) => c.callback.task_id === job.taskId);
  const count = async (state: string): Promise<number> => ((await (await fetch(`${controlUrl}/dynflow/tasks/count?state=${state}`)).json()) as { count: number }).count;

  return {
    jobs,
    started,
    callbacksOf,
    async launch(t) {
      for (let i = 0; i < jobs.length; i += BATCH) {
        const response = await fetch(`${controlUrl}/dynflow/tasks/launch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(launchBody(jobs.slice(i, i + BATCH))) });
        t.equal(response.status, 200, `batch ${i / BATCH + 1} launched`);
      }
    },
    async everyCallback(timeoutMs) {
      const from = Date.now();
      await waitFor(() => jobs.every((job) => callbacksOf(job).length > 0), { timeoutMs, intervalMs: 250, what: `a callback for each of the ${jobs.length} jobs` });
      return Date.now() - from;
    },
    async assertEachRanOnce(t) {
      // A late duplicate would only show up later: exactly once is held over a window.
      t.ok(await holdsFor(() => jobs.every((job) => callbacksOf(job).length === 1), 5000, 250), 'exactly one callback per job at Foreman');
      const results = jobs.map((job) => callbacksOf(job)[0]);
      t.equal(results.filter((c) => c?.data.exit_status === 0).length, jobs.length, 'every job exited 0');
      // Named, not counted: a lost chunk and a chunk stored twice read differently.
      const wrongOutput = results.flatMap((c, i) => (c !== undefined && stdoutOf(c) === `done ${jobs[i]?.planId}\n` ? [] : [{ planId: jobs[i]?.planId, stdout: c === undefined ? null : stdoutOf(c) }]));
      t.same(wrongOutput, [], "each with its own script's output");
      const ran = started();
      t.equal(ran.length, jobs.length, `the hosts ran ${jobs.length} scripts`);
      t.equal(new Set(ran).size, jobs.length, 'each script exactly once');
      t.same(new Set(ran), new Set(jobs.map((job) => job.planId)), 'and they are the launched ones');
      t.equal(await waitFor(async () => ((await count('running')) === 0 ? 'none' : undefined), { timeoutMs: 30_000, what: 'no task left running' }), 'none', 'no task left running in Redis');
      t.equal(await count('stopped'), jobs.length + jobs.length / BATCH, 'every host job and every batch is stopped');
    },
  };
}
