/**
 * REX push mode end to end against a real sshd on loopback: Foreman launches a batch through the
 * control listener's dynflow API, the rex worker runs each script over SSH with the key the
 * ingress hands out at /ssh/pubkey, and Foreman receives one callback per host with the output
 * and exit status; failures, the execution timeout, cancellation, the effective user and the
 * host-key policy each end the way the smart-proxy's would.
 */
import { execFileSync } from 'node:child_process';
import amqplib from 'amqplib';
import t from 'tap';
import { createTopology } from '../../contracts/topology.ts';
import { AMQP_URL, testConfig } from '../helpers/hub-harness.ts';
import { startForemanFor } from '../helpers/hub-with-foreman.ts';
import { startHubFor, usePrefix } from '../helpers/test-hub.ts';
import { runCli } from '../helpers/cli.ts';
import { callbackFor, debugOf, hostJob, launchBody, stdoutOf, type HostJob } from '../helpers/rex.ts';
import { fakeSudo } from '../helpers/fake-sudo.ts';
import { startSshd } from '../helpers/sshd.ts';
import { startCoalescingRelay } from '../helpers/coalescing-relay.ts';
import { holdsFor, waitFor } from '../helpers/wait-for.ts';

const foreman = await startForemanFor(t);
const sshd = await startSshd();
t.teardown(() => sshd.stop());
const prefix = usePrefix(t);
const OUTPUT_CAP = 64 * 1024;
// Connect timeout: an SSH handshake beside a full parallel suite on two cores has taken over 5 s.
const config = testConfig(prefix, foreman.url, { rex: { lockMs: 5000, callbackBackoffMaxMs: 1000, connectTimeoutMs: 30_000, maxOutputBytes: OUTPUT_CAP } });
const hub = await startHubFor(t, config, 'all');
const topology = createTopology(prefix);
// A subscriber streaming the REX events, as a Foreman plugin would.
const events: Array<{ type: string; data: Record<string, unknown> }> = [];
const amqp = await amqplib.connect(AMQP_URL);
const channel = await amqp.createChannel();
const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true });
await channel.bindQueue(queue, topology.eventsExchange, 'rex.job.#');
await channel.consume(queue, (message) => message && events.push(JSON.parse(message.content.toString('utf8')) as { type: string; data: Record<string, unknown> }), { noAck: true });
t.teardown(() => amqp.close().catch(() => undefined));

const control = (path: string, init: { method?: string; body?: unknown } = {}) =>
  fetch(`${hub.controlUrl}${path}`, { method: init.method ?? 'GET', ...(init.body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(init.body) }) });
const json = async (response: Response): Promise<Record<string, unknown>> => (await response.json()) as Record<string, unknown>;
const on = (host: string, script: string, overrides: Record<string, unknown> = {}): HostJob => hostJob(host, script, { ssh_port: sshd.port, ...overrides });
async function launch(jobs: HostJob[]): Promise<string> {
  const response = await control('/dynflow/tasks/launch', { method: 'POST', body: launchBody(jobs) });
  const body = await json(response);
  if (response.status !== 200) throw new Error(`launch answered ${response.status}: ${JSON.stringify(body)}`);
  return (body.parent as { task_id: string }).task_id;
}
/** A sleep whose command line is unique to this run, so pgrep finds exactly it. */
const uniqueSleep = (): string => `60.${Math.floor(Math.random() * 1e9)}`;
const running = (marker: string): boolean => {
  try {
    execFileSync('pgrep', ['-f', marker]);
    return true;
  } catch {
    return false;
  }
};

t.test('the ingress hands out the generated public key, which the hosts authorize', async (t) => {
  const response = await fetch(`${hub.ingressUrl}/ssh/pubkey`);
  t.equal(response.status, 200);
  const key = (await response.text()).trim();
  t.match(key, /^ssh-ed25519 AAAA[0-9A-Za-z+/=]+ proxyhub@/);
  sshd.authorize(key);
  const ca = await fetch(`${hub.ingressUrl}/ssh/ca_pubkey`);
  t.equal(ca.status, 200);
  t.equal(await ca.text(), '', 'no user CA configured: empty, as the smart-proxy');
});

t.test('operations and an unknown operation', async (t) => {
  t.same(await json(await control('/dynflow/tasks/operations')), ['ssh']);
  const unknown = await control('/dynflow/tasks/launch', { method: 'POST', body: launchBody([on('127.0.0.1', 'true')], 'ansible-runner') });
  t.equal(unknown.status, 404);
  const body = await json(unknown);
  t.equal(body.error, "Unknown operation 'ansible-runner' requested.", 'the smart-proxy error Foreman shows');
  t.match(body, { code: 'PROXYHUB_REX_UNKNOWN_OPERATION', status: 404, detail: "Unknown operation 'ansible-runner' requested." }, 'and a catalog problem');
});

t.test('a batch of three hosts: one callback per host with its output and exit status', async (t) => {
  const jobs = ['127.0.0.2', '127.0.0.3', 'localhost'].map((host, index) => on(host, `#!/bin/sh\necho "host ${index} says hi"\necho "warning ${index}" >&2\nexit 0\n`));
  const before = Date.now() / 1000;
  const batchId = await launch(jobs);
  t.match(batchId, /^[0-9a-f-]{36}$/);
  for (const [index, job] of jobs.entries()) {
    const callback = await callbackFor(foreman, job);
    t.equal(callback.callback.step_id, job.stepId, 'step id as Foreman sent it');
    t.equal(callback.data.exit_status, 0);
    t.equal(stdoutOf(callback), `host ${index} says hi\n`);
    t.ok(callback.data.result.some((r) => r.output_type === 'stderr' && r.output === `warning ${index}\n`), 'stderr kept apart');
    t.ok(callback.data.exit_status_timestamp >= before, 'exit timestamp in epoch seconds');
    const status = await json(await control(`/dynflow/tasks/${job.planId}/status`));
    t.equal(status.state, 'stopped');
    t.equal(status.result, 'success');
    const action = (status.actions as Array<{ input: Record<string, unknown>; output: Record<string, unknown> }>)[0];
    t.equal(action?.input.task_id, job.taskId, 'Foreman finds its action by input.task_id');
    t.equal(action?.output.exit_status, 0);
    t.notOk('secrets' in (action?.input ?? {}), 'secrets are never echoed');
  }
  t.equal(foreman.callbacks.filter((c) => jobs.some((j) => j.taskId === c.callback.task_id)).length, 3, 'exactly one callback per host');
  await waitFor(() => events.filter((e) => e.type === 'rex.job.finished.v1' && jobs.some((j) => j.planId === e.data.planId)).length === 3, { what: 'three finished events' });
  t.ok(events.some((e) => e.type === 'rex.job.output.v1' && (e.data.chunk as { output: string }).output.includes('host 1 says hi')), 'output streamed as events');
  const batch = await waitFor(async () => {
    const plan = await json(await control(`/dynflow/tasks/${batchId}/status`));
    return plan.state === 'stopped' ? plan : undefined;
  }, { what: 'the batch to stop' });
  t.equal(batch.result, 'success');

  t.test('a repeated launch of the same plans runs nothing again', async (t) => {
    t.equal(await launch(jobs), batchId, 'the same parent task');
    t.ok(await holdsFor(() => foreman.callbacks.filter((c) => jobs.some((j) => j.taskId === c.callback.task_id)).length === 3, 1500), 'no second callback');
  });

  t.test('proxyhub jobs list|show read the same jobs from Redis', async (t) => {
    const listed = await runCli(config, ['jobs', 'list', '--state', 'stopped']);
    t.equal(listed.code, 0, listed.stderr);
    for (const job of jobs) t.match(listed.stdout, new RegExp(`${job.planId}\\s+${String(job.input.hostname).replaceAll('.', '\\.')}\\s+completed\\s+finished\\s+0\\s`));
    const shown = await runCli(config, ['jobs', 'show', jobs[0]?.planId ?? '']);
    t.equal(shown.code, 0, shown.stderr);
    const job = JSON.parse(shown.stdout) as { output: Array<{ output: string }>; data: { input: Record<string, unknown> } };
    t.ok(job.output.some((chunk) => chunk.output === 'host 0 says hi\n'));
    t.notOk('secrets' in job.data.input);
    t.equal((await runCli(config, ['jobs', 'show', 'no-such-plan'])).code, 3, 'not found');
  });
});

t.test('a failing script reports its exit code', async (t) => {
  const job = on('127.0.0.1', 'echo about to fail\nexit 3\n');
  await launch([job]);
  const callback = await callbackFor(foreman, job);
  t.equal(callback.data.exit_status, 3, 'the exit status', { notices: debugOf(callback) });
  t.equal(stdoutOf(callback), 'about to fail\n');
  const statuses = await json(await control('/dynflow/tasks/status', { method: 'POST', body: { task_ids: [job.planId, 'no-such-plan'] } }));
  t.same(statuses, { [job.planId]: { state: 'stopped', result: 'success' } }, 'a script that failed is still a finished task; unknown ids are left out');
});

t.test('a host whose whole answer arrives in one read still reports its exit status', async (t) => {
  // The host's packets held back until it was quiet for 300 ms and handed on together: the exec's
  // success reply, the output, the exit status and the close reach the worker in one read, as
  // they do when its event loop was busy. The exit status was lost that way (a loaded CI run's
  // EXCEPTION); the upload's stdin then went to a channel already ended.
  const relay = await startCoalescingRelay({ host: '127.0.0.1', port: sshd.port }, 300);
  t.teardown(() => relay.close());
  const job = hostJob('127.0.0.1', 'echo about to fail\nexit 3\n', { ssh_port: relay.port });
  await launch([job]);
  const callback = await callbackFor(foreman, job);
  t.equal(callback.data.exit_status, 3, 'the exit status', { notices: debugOf(callback) });
  t.equal(stdoutOf(callback), 'about to fail\n');
});

t.test('the execution timeout stops the script on the host', async (t) => {
  const marker = `sleep ${uniqueSleep()}`;
  const job = on('127.0.0.2', `echo started\n${marker}\necho never\n`, { execution_timeout_interval: 1 });
  await launch([job]);
  await waitFor(() => running(marker), { what: 'the script to run' });
  const callback = await callbackFor(foreman, job);
  t.equal(callback.data.exit_status, 'EXCEPTION');
  t.match(debugOf(callback), /Timeout for execution passed/);
  t.equal(stdoutOf(callback), 'started\n');
  await waitFor(() => !running(marker), { what: 'the script to be gone from the host' });
});

t.test('cancel kills the process on the host', async (t) => {
  const marker = `sleep ${uniqueSleep()}`;
  const job = on('127.0.0.3', `echo started\n${marker}\n`);
  const batchId = await launch([job]);
  await waitFor(() => running(marker), { what: 'the script to run' });
  const counted = await json(await control('/dynflow/tasks/count?state=running'));
  t.ok((counted.count as number) >= 2, 'the host job and its batch count as running');
  t.equal(counted.state, 'running');
  const cancel = await json(await control(`/dynflow/tasks/${batchId}/cancel`, { method: 'POST' }));
  t.same(cancel, { task_id: batchId, canceled_steps_count: 1 });
  const callback = await callbackFor(foreman, job);
  t.equal(callback.data.exit_status, 'EXCEPTION');
  t.match(debugOf(callback), /cancelled/);
  await waitFor(() => !running(marker), { what: 'the script to be killed' });
});

t.test('proxyhub jobs cancel stops a job as Foreman’s cancel does', async (t) => {
  const marker = `sleep ${uniqueSleep()}`;
  const job = on('127.0.0.3', `echo started\n${marker}\n`);
  await launch([job]);
  await waitFor(() => running(marker), { what: 'the script to run' });
  const cancel = await runCli(config, ['jobs', 'cancel', job.planId, '--json']);
  t.equal(cancel.code, 0, cancel.stderr);
  t.same(JSON.parse(cancel.stdout), { id: job.planId, jobs: 1, cancelled: 1 });
  const callback = await callbackFor(foreman, job);
  t.equal(callback.data.exit_status, 'EXCEPTION', 'Foreman is told the job ended');
  t.match(debugOf(callback), /cancelled/);
  await waitFor(() => !running(marker), { what: 'the script to be killed' });
  const again = await runCli(config, ['jobs', 'cancel', job.planId]);
  t.equal(again.code, 0, 'a job that ended is left as it is');
  t.match(again.stdout, /cancel requested for 0 of 1 job\(s\) \(the others had ended already\)/);
});

t.test('effective_user through su runs the script as that user', async (t) => {
  const job = on('127.0.0.1', 'id -un\n', { effective_user: 'nobody', effective_user_method: 'su' });
  await launch([job]);
  const callback = await callbackFor(foreman, job);
  t.equal(callback.data.exit_status, 0);
  t.equal(stdoutOf(callback), 'nobody\n');
});

t.test('effective_user_password goes only to a password prompt, never to the script', async (t) => {
  const password = `pw-${Math.random().toString(36).slice(2)}`;
  const secrets = { ssh_password: null, key_passphrase: null, effective_user_password: password };
  // sudo prompts and checks the password; dzdo lets the user in without one (NOPASSWD).
  sshd.installCommand('sudo', fakeSudo(password));
  sshd.installCommand('dzdo', fakeSudo(undefined));
  const leaky = 'cat\nread line; echo "read: $line"\necho end\n';
  const cases = {
    'no user switch': on('127.0.0.1', leaky, { secrets }),
    'sudo that needs no password': on('127.0.0.1', leaky, { secrets, effective_user: 'nobody', effective_user_method: 'dzdo' }),
    'sudo that prompts': on('127.0.0.1', leaky, { secrets, effective_user: 'nobody', effective_user_method: 'sudo' }),
  };
  await launch(Object.values(cases));
  for (const [name, job] of Object.entries(cases)) {
    const callback = await callbackFor(foreman, job);
    t.equal(callback.data.exit_status, 0, `${name}: ${debugOf(callback)}`);
    t.equal(stdoutOf(callback), 'read: \nend\n', `${name}: the script read nothing`);
    t.notMatch(JSON.stringify(callback.data.result), password, `${name}: the password is nowhere in the output`);
    t.notMatch(JSON.stringify(callback.data.result), /proxyhub-rex-password/, `${name}: nor the prompt`);
  }

  t.test('a refused password ends the job instead of feeding the script', async (t) => {
    const wrong = on('127.0.0.1', leaky, { secrets: { ...secrets, effective_user_password: 'not-it' }, effective_user: 'nobody', effective_user_method: 'sudo' });
    await launch([wrong]);
    const callback = await callbackFor(foreman, wrong);
    t.not(callback.data.exit_status, 0);
    t.equal(stdoutOf(callback), '', 'the script never ran');
    t.match(debugOf(callback), /password .*not accepted/);
    t.notMatch(JSON.stringify(callback.data.result), /not-it/);
  });
});

t.test('a script flooding its output is stored up to the cap with one notice; its exit status counts', async (t) => {
  const job = on('127.0.0.3', `head -c 1000000 /dev/zero | tr '\\0' y\necho 'also on stderr' >&2\nexit 4\n`);
  await launch([job]);
  const callback = await callbackFor(foreman, job);
  t.equal(callback.data.exit_status, 4);
  const stored = callback.data.result.filter((r) => r.output_type !== 'debug').reduce((total, r) => total + Buffer.byteLength(r.output), 0);
  t.equal(stored, OUTPUT_CAP, 'output stored up to the cap exactly');
  t.equal(callback.data.result.filter((r) => r.output_type === 'debug' && /truncated/.test(r.output)).length, 1, 'one truncation notice');
});

t.test('statuses needs task ids; a task nobody launched is 404; both answer catalog problems', async (t) => {
  const empty = await control('/dynflow/tasks/statuses', { method: 'POST', body: { task_ids: [] } });
  t.equal(empty.status, 422);
  t.match(await json(empty), { code: 'PROXYHUB_REX_NO_TASK_IDS', error: 'task_ids must not be empty' });
  const missing = await control('/dynflow/tasks/0b6a2c1e-0000-4000-8000-000000000000/status');
  t.equal(missing.status, 404);
  t.match(missing.headers.get('content-type'), /^application\/problem\+json/);
  t.match(await json(missing), { code: 'PROXYHUB_REX_TASK_NOT_FOUND', status: 404 });
});

t.test('a changed host key fails the job; first_execution forgets the old key', async (t) => {
  await sshd.rotateHostKey();
  const refused = on('127.0.0.2', 'echo should not run\n');
  await launch([refused]);
  const callback = await callbackFor(foreman, refused);
  t.equal(callback.data.exit_status, 'EXCEPTION');
  t.match(debugOf(callback), /Host key of 127\.0\.0\.2:\d+ does not match/);
  t.equal(stdoutOf(callback), '', 'nothing ran');
  const rebuilt = on('127.0.0.2', 'echo fresh host\n', { first_execution: true });
  await launch([rebuilt]);
  const accepted = await callbackFor(foreman, rebuilt);
  t.equal(accepted.data.exit_status, 0);
  t.equal(stdoutOf(accepted), 'fresh host\n');
});

t.test('a known host now offering only another key type is refused; first_execution learns it', async (t) => {
  // 127.0.0.2 knows the host's current ed25519 key (learned just above); the host now has only an RSA key.
  await sshd.rotateHostKey('rsa');
  const refused = on('127.0.0.2', 'echo should not run\n');
  await launch([refused]);
  const callback = await callbackFor(foreman, refused);
  t.equal(callback.data.exit_status, 'EXCEPTION');
  t.match(debugOf(callback), /Host key of 127\.0\.0\.2:\d+ does not match the known one: it offered an ssh-rsa key, known_hosts has ssh-ed25519/);
  t.equal(stdoutOf(callback), '', 'nothing ran');
  const rebuilt = on('127.0.0.2', 'echo rebuilt with rsa\n', { first_execution: true });
  await launch([rebuilt]);
  const accepted = await callbackFor(foreman, rebuilt);
  t.equal(accepted.data.exit_status, 0, debugOf(accepted));
  t.equal(stdoutOf(accepted), 'rebuilt with rsa\n');
  const again = on('127.0.0.2', 'echo known now\n');
  await launch([again]);
  t.equal(stdoutOf(await callbackFor(foreman, again)), 'known now\n', 'the learned key is known from then on');

  t.test('a host that also offers a key type ssh2 prefers is still checked against the known one', async (t) => {
    await sshd.addHostKey('ed25519');
    const both = on('127.0.0.2', 'echo rsa still known\n');
    await launch([both]);
    const callback = await callbackFor(foreman, both);
    t.equal(callback.data.exit_status, 0, debugOf(callback));
    t.equal(stdoutOf(callback), 'rsa still known\n');
  });
});
