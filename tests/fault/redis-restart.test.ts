/**
 * Redis crashes (SIGKILL) while 200 REX jobs run over SSH, stays away for a few seconds and is
 * started again on the same AOF directory: the hub (control and rex worker as child processes, as
 * users run them) reconnects on its own, every job runs its script exactly once on the host and
 * Foreman receives exactly one callback per job, with the script's output and exit 0.
 *
 * The Redis it crashes is the test's own (tests/helpers/own-redis.ts) on a port of its own; the
 * machine's RabbitMQ and Redis are only used, never restarted. It still runs alone (@runs-alone):
 * 200 SSH handshakes take a core for a minute or two, which would make the timing bounds of the
 * parallel suite measure this test instead of theirs.
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

const JOBS = 200;
/** Scripts started before Redis is killed: some finished, many running, most still waiting. */
const STARTED_AT_CRASH = 60;
/** Longer than appendfsync's one second, far shorter than the job lock (30 s). */
const OUTAGE_MS = 3000;

// 200 SSH sessions on two shared cores: 70 s on a quiet machine, twice that beside a full suite.
t.setTimeout(420_000);
const redis = await startOwnRedis();
t.teardown(() => redis.stop());
const foreman = await startForemanFor(t);
const sshd = await startSshd();
t.teardown(() => sshd.stop());
const prefix = usePrefix(t);
const config = testConfig(prefix, foreman.url, { redisUrl: redis.url, rex: { callbackBackoffMaxMs: 1000, connectTimeoutMs: 30_000 } });
// The two roles REX needs, each its own process as an operator runs them; the ingress (only
// asked for the public key the hosts authorize) runs in the test.
const ingress = await startHubFor(t, config, 'ingress');
const control = await spawnHubFor(t, config, 'control');
const worker = await spawnHubFor(t, config, 'worker:rex');
const controlUrl = controlUrlOf(control);
await authorizeProxyKey(sshd, ingress);

const load = createRexSshLoad({ sshd, foreman, controlUrl, jobs: JOBS, scriptSeconds: 2 });

t.test(`Redis killed and restarted while ${JOBS} REX jobs run: none lost, none run twice`, async (t) => {
  await load.launch(t);
  await waitFor(() => load.started().length >= STARTED_AT_CRASH, { timeoutMs: 60_000, what: `${STARTED_AT_CRASH} scripts to start` });
  await redis.crash();
  const atCrash = { started: load.started().length, callbacks: foreman.callbacks.length };
  t.comment(`Redis killed with ${atCrash.started} scripts started and ${atCrash.callbacks} callbacks at Foreman`);
  const outageStart = Date.now();
  await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
  t.equal(
    (await fetch(`${controlUrl}/dynflow/tasks/count?state=running`)).status,
    503,
    'the task API answers 503 while Redis is away (Foreman retries)',
  );
  await redis.start();
  const backAt = Date.now();
  t.comment(`Redis back after ${backAt - outageStart} ms (AOF replayed)`);
  const reconnected = () => worker.output.join('').split('redis unavailable; retrying').at(-1)?.includes('"redis reconnected"');
  await waitFor(reconnected, { timeoutMs: 30_000, what: 'the rex worker to reconnect' });
  t.comment(`the rex worker was back on Redis ${Date.now() - backAt} ms later`);

  t.comment(`every callback in ${await load.everyCallback(300_000)} ms after the restart`);
  await load.assertEachRanOnce(t);

  for (const [name, child] of [['control', control], ['rex worker', worker]] as const) {
    const lines = child.output.join('').split('\n').filter(Boolean);
    t.ok(lines.some((line) => line.includes('"redis reconnected"')), `the ${name} logged that Redis was back`);
    // BullMQ prints an emitter's unheard errors to stderr: every line must be the structured log.
    t.same(lines.filter((line) => !line.startsWith('{')), [], `the ${name} wrote nothing around its structured log`);
  }
});
