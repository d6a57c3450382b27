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
import t from 'tap';
import { testConfig } from '../helpers/hub-harness.ts';
import { startForemanFor } from '../helpers/hub-with-foreman.ts';
import { startOwnRedis } from '../helpers/own-redis.ts';
import { createRexSshLoad } from '../helpers/rex-ssh-load.ts';
import { authorizeProxyKey, controlUrlOf } from '../helpers/rex.ts';
import { startSshd } from '../helpers/sshd.ts';
import { spawnHubFor, startHubFor, usePrefix } from '../helpers/test-hub.ts';
import { waitFor } from '../helpers/wait-for.ts';

const JOBS = 50;
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
const ingress = await startHubFor(t, config, 'ingress');
const control = await spawnHubFor(t, config, 'control');
const worker = await spawnHubFor(t, config, 'worker:rex');
const controlUrl = controlUrlOf(control);
await authorizeProxyKey(sshd, ingress);
// Scripts long enough to be running through the whole outage.
const load = createRexSshLoad({ sshd, foreman, controlUrl, jobs: JOBS, scriptSeconds: 8 });

t.test(`Redis away ${OUTAGE_MS / 1000} s, longer than the ${LOCK_MS / 1000} s job lock: no script runs twice, one callback per job`, async (t) => {
  await load.launch(t);
  await waitFor(() => load.started().length >= CONCURRENCY, { timeoutMs: 60_000, what: `${CONCURRENCY} scripts running` });
  await redis.crash();
  t.comment(`Redis killed with ${load.started().length} scripts started, ${foreman.callbacks.length} callbacks at Foreman`);
  await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
  await redis.start();
  t.comment(`every callback ${await load.everyCallback(240_000)} ms after the restart`);
  // Exit 0 with its own output for every job, those running through the outage included.
  await load.assertEachRanOnce(t);
  const lines = worker.output.join('').split('\n').filter(Boolean);
  t.same(lines.filter((line) => !line.startsWith('{')), [], 'the rex worker wrote nothing around its structured log');
});
