/**
 * Redis away for longer than the REX job lock while scripts run on hosts. The locks run out
 * during the outage (their expiry is kept in Redis as an absolute time), so when Redis is back
 * BullMQ finds the running jobs stalled and hands them out again, although the worker is still
 * running their scripts. Checked here: no script is started a second time on its host (before
 * the fix, a job that had finished during the outage was run again, because its completion was
 * refused for the lost lock), every job gets exactly one callback with its real result (the
 * worker that still runs a script finishes it, instead of reporting it as interrupted), no task
 * is left running, and the jobs that were still waiting run normally afterwards.
 *
 * The lock is shortened to 2 s so that a 6 s outage outlasts it (the production default is 30 s;
 * the behaviour is the same, only slower). The Redis it crashes is the test's own
 * (tests/helpers/own-redis.ts). Runs alone (@runs-alone): SSH sessions and a Redis crash would
 * disturb the timing bounds of the parallel suite.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { testConfig } from '../helpers/hub-harness.ts';
import { startForemanFor } from '../helpers/hub-with-foreman.ts';
import { startOwnRedis } from '../helpers/own-redis.ts';
import { hostJob, launchBody, stdoutOf, type HostJob } from '../helpers/rex.ts';
import { startSshd } from '../helpers/sshd.ts';
import { spawnHubFor, startHubFor, usePrefix } from '../helpers/test-hub.ts';
import { holdsFor, waitFor } from '../helpers/wait-for.ts';

const JOBS = 30;
const CONCURRENCY = 10;
const LOCK_MS = 2000;
/** Three locks long: every running job's lock has run out when Redis comes back. */
const OUTAGE_MS = 3 * LOCK_MS;

t.setTimeout(300_000);
const redis = await startOwnRedis();
t.teardown(() => redis.stop());
const foreman = await startForemanFor(t);
const sshd = await startSshd();
t.teardown(() => sshd.stop());
const prefix = usePrefix(t);
const config = testConfig(prefix, foreman.url, { redisUrl: redis.url, control: { host: '127.0.0.1', port: 0 }, rex: { lockMs: LOCK_MS, concurrency: CONCURRENCY, callbackBackoffMaxMs: 1000, connectTimeoutMs: 30_000 } });
const ranLog = join(sshd.dir, 'ran.log');
writeFileSync(ranLog, '');
const ingress = await startHubFor(t, config, 'ingress');
const control = await spawnHubFor(t, config, 'control');
const worker = await spawnHubFor(t, config, 'worker:rex');
const controlUrl = control.output.join('').match(/"controlUrl":"([^"]+)"/)?.[1] ?? '';
const pubkey = await fetch(`${ingress.ingressUrl}/ssh/pubkey`);
if (pubkey.status !== 200) throw new Error(`GET /ssh/pubkey answered ${pubkey.status}`);
sshd.authorize(await pubkey.text());

const started = (): string[] => readFileSync(ranLog, 'utf8').split('\n').filter(Boolean);
const callbacksOf = (job: HostJob) => foreman.callbacks.filter((c) => c.callback.task_id === job.taskId);

t.test(`Redis away ${OUTAGE_MS / 1000} s, longer than the ${LOCK_MS / 1000} s job lock: no script runs twice, one callback per job`, async (t) => {
  const jobs = Array.from({ length: JOBS }, () => {
    const placeholder = hostJob('127.0.0.1', '', { ssh_port: sshd.port });
    // Long enough to be running through the whole outage.
    return { ...placeholder, input: { ...placeholder.input, script: `echo ${placeholder.planId} >> ${ranLog}\nsleep 8\necho done ${placeholder.planId}\n` } };
  });
  const launched = await fetch(`${controlUrl}/dynflow/tasks/launch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(launchBody(jobs)) });
  t.equal(launched.status, 200, 'launched');
  await waitFor(() => started().length >= CONCURRENCY, { timeoutMs: 60_000, what: `${CONCURRENCY} scripts running` });
  const runningAtCrash = new Set(started());
  await redis.crash();
  t.comment(`Redis killed with ${runningAtCrash.size} scripts running, ${foreman.callbacks.length} callbacks at Foreman`);
  await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
  await redis.start();

  await waitFor(() => jobs.every((job) => callbacksOf(job).length > 0), { timeoutMs: 180_000, intervalMs: 250, what: `a callback for each of the ${JOBS} jobs` });
  t.ok(await holdsFor(() => jobs.every((job) => callbacksOf(job).length === 1), 5000, 250), 'exactly one callback per job at Foreman');

  const ran = started();
  t.equal(new Set(ran).size, ran.length, 'no script was started twice on its host');
  const completed = jobs.filter((job) => callbacksOf(job)[0]?.data.exit_status === 0);
  t.equal(completed.length, JOBS, 'every job ends with its real result, those running through the outage included');
  t.ok(
    completed.every((job) => stdoutOf(callbacksOf(job)[0]!) === `done ${job.planId}\n`),
    'each with its own output',
  );
  t.equal(ran.length, JOBS, 'the host ran each script once');
  const count = async (state: string): Promise<number> => ((await (await fetch(`${controlUrl}/dynflow/tasks/count?state=${state}`)).json()) as { count: number }).count;
  t.equal(await waitFor(async () => ((await count('running')) === 0 ? 'none' : undefined), { timeoutMs: 30_000, what: 'no task left running' }), 'none', 'no task left running');
  const lines = worker.output.join('').split('\n').filter(Boolean);
  t.same(lines.filter((line) => !line.startsWith('{')), [], 'the rex worker wrote nothing around its structured log');
});
