/**
 * REX durability with real processes: the rex worker is SIGKILLed while a script runs and the
 * control role is restarted while jobs wait. Every job still ends in a reported state: the
 * interrupted one as EXCEPTION (the replacement worker finds it stalled and does not run it
 * twice), the queued one runs; the task API answers from Redis right after the control restart;
 * a callback Foreman refuses is retried until it takes it. Only this test's own processes die.
 */
import { execFileSync } from 'node:child_process';
import t from 'tap';
import { testConfig, type ChildHub } from '../helpers/hub-harness.ts';
import { startForemanFor } from '../helpers/hub-with-foreman.ts';
import { spawnHubFor, startHubFor, usePrefix } from '../helpers/test-hub.ts';
import { authorizeProxyKey, callbackFor, controlUrlOf, debugOf, hostJob, launchBody, stdoutOf, type HostJob } from '../helpers/rex.ts';
import { startSshd } from '../helpers/sshd.ts';
import { waitFor } from '../helpers/wait-for.ts';

// Hub processes start here one after another; at the parallel suite's outset one start has taken
// over 30 s, and spawnHub waits up to 65 s: tap's 180 s per file would cut such a run short.
t.setTimeout(300_000);

const foreman = await startForemanFor(t);
const sshd = await startSshd();
t.teardown(() => sshd.stop());
const prefix = usePrefix(t);
const config = testConfig(prefix, foreman.url, { control: { host: '127.0.0.1', port: 0 }, rex: { lockMs: 2000, callbackBackoffMaxMs: 500 } });
const sleeper = `sleep 60.${Math.floor(Math.random() * 1e9)}`;
t.teardown(() => {
  if (running()) execFileSync('pkill', ['-f', sleeper]);
});
const ingress = await startHubFor(t, config, 'ingress');

/** A child of `roles`; a control among them listens on `port` (0: any; the old one's: restarted in place). */
const spawn = (roles: string, port = 0): Promise<ChildHub> => spawnHubFor(t, config, roles, { PROXYHUB_CONTROL_PORT: String(port) });
function running(): boolean {
  try {
    execFileSync('pgrep', ['-f', sleeper]);
    return true;
  } catch {
    return false;
  }
}
const on = (script: string): HostJob => hostJob('127.0.0.1', script, { ssh_port: sshd.port });

t.test('a killed worker and a restarted control lose no job', async (t) => {
  const control = await spawn('control');
  const controlUrl = controlUrlOf(control);
  const controlPort = Number(new URL(controlUrl).port);
  const worker = await spawn('worker:rex');
  await authorizeProxyKey(sshd, ingress);
  const post = (url: string, body: unknown) => fetch(`${url}/dynflow/tasks/launch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  const interrupted = on(`echo started\n${sleeper}\necho finished\n`);
  t.equal((await post(controlUrl, launchBody([interrupted]))).status, 200);
  await waitFor(running, { what: 'the script to run on the host' });
  worker.process.kill('SIGKILL');
  await worker.stop();

  const queued = on('echo queued while no worker ran\n');
  t.equal((await post(controlUrl, launchBody([queued]))).status, 200, 'launches are taken with no worker running');

  await control.stop('SIGTERM');
  const restartedUrl = controlUrlOf(await spawn('control', controlPort));
  const status = async (job: HostJob) => (await (await fetch(`${restartedUrl}/dynflow/tasks/${job.planId}/status`)).json()) as { state: string; result: string; actions: Array<{ output: Record<string, unknown> }> };
  const before = await status(interrupted);
  t.equal(before.state, 'running', 'right after the control restart: the interrupted job is still known, and running');
  t.equal(before.actions[0]?.output.state, 'running');
  t.equal((await status(queued)).state, 'running', 'the queued job is known too');

  // Foreman refuses callbacks for a while: they are retried, not lost.
  foreman.fault = { status: 503 };
  await spawn('worker:rex');
  await waitFor(() => foreman.attempts('/foreman_tasks/api/tasks/callback') >= 3, { timeoutMs: 30_000, what: 'callbacks refused a few times' });
  foreman.fault = {};

  const ranLater = await callbackFor(foreman, queued);
  t.equal(ranLater.data.exit_status, 0);
  t.equal(stdoutOf(ranLater), 'queued while no worker ran\n');
  const died = await callbackFor(foreman, interrupted);
  t.equal(died.data.exit_status, 'EXCEPTION', 'the job whose worker died is reported, not lost');
  t.match(debugOf(died), /worker running this job stopped/);
  t.equal(stdoutOf(died), 'started\n', 'with the output it had before');
  t.equal(foreman.callbacks.filter((c) => c.callback.task_id === interrupted.taskId).length, 1, 'one callback, the script is not run again');
  const after = await status(interrupted);
  t.equal(after.state, 'stopped');
  t.equal(after.result, 'error');
  t.equal(after.actions[0]?.output.exit_status, 'EXCEPTION');
});
