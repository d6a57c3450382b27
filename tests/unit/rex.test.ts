/**
 * The pure parts of remote execution: the launch contract, the shell commands a push job runs,
 * pull-mode update bodies, the Dynflow view of a job, the MQTT payload, known_hosts semantics and
 * the capabilities the worker would announce.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import t from 'tap';
import { rexCapabilities } from '../../contracts/rex/capabilities.ts';
import { launchRequestSchema, pullHostName, type ActionInput } from '../../contracts/rex/launch.ts';
import { pullNotification, pullNotificationSchema, pullTopic } from '../../contracts/rex/mqtt.ts';
import type { RexJobView } from '../../hub/jobs/rex-job-store.ts';
import { jobPlan, planState } from '../../hub/control/dynflow-status.ts';
import { parseUpdate } from '../../workers/rex/host-requests.ts';
import { generateParsableKeyPair, loadOrCreateKeyPair } from '../../workers/rex/ssh-keys.ts';
import { KnownHosts, hostPattern, preferredHostKeyAlgorithms } from '../../workers/rex/known-hosts.ts';
import { cleanupCommand, killCommand, quote, runCommand, uploadCommand, type CommandSettings } from '../../workers/rex/remote-command.ts';

const input = (overrides: Partial<ActionInput> = {}): ActionInput =>
  ({ hostname: 'web1.example.com', script: 'echo hi', callback: { task_id: 'f-1', step_id: 3 }, ...overrides });

const makeJob = (overrides: Partial<RexJobView> = {}): RexJobView => ({
  id: 'plan-1',
  data: { planId: 'plan-1', batchId: 'batch-1', actionClass: 'Proxy::RemoteExecution::Ssh::Actions::RunScript', input: input({ secrets: { ssh_password: 'hunter2' } }), launchedAt: 1000 },
  state: 'active',
  progress: { state: 'running', startedAt: 2000 },
  result: undefined,
  failedReason: undefined,
  createdAt: 1000,
  startedAt: 2000,
  finishedAt: undefined,
  ...overrides,
});

t.test('launch contract: strings become numbers, a plan id with a colon is refused, empty input refused', async (t) => {
  const parsed = launchRequestSchema.parse({ operation: 'ssh', input: { 'a-1': { action_input: { ...input(), ssh_port: '2222', execution_timeout_interval: '30', callback: { task_id: 7, step_id: '4' } } } } });
  const entry = parsed.input['a-1'];
  t.equal(entry?.action_input.ssh_port, 2222);
  t.equal(entry?.action_input.execution_timeout_interval, 30);
  t.equal(entry?.action_input.callback.step_id, 4);
  t.notOk(launchRequestSchema.safeParse({ operation: 'ssh', input: { 'bull:x': { action_input: input() } } }).success);
  t.notOk(launchRequestSchema.safeParse({ operation: 'ssh', input: {} }).success);
  t.notOk(launchRequestSchema.safeParse({ operation: 'ssh', input: { a: { action_input: { hostname: 'x', script: 'y' } } } }).success, 'a callback is required');
});

t.test('pull host name: consumer uuid, then fqdn, then hostname', async (t) => {
  t.equal(pullHostName(input({ alternative_names: { consumer_uuid: 'c-1', fqdn: 'f' } })), 'c-1');
  t.equal(pullHostName(input({ alternative_names: { fqdn: 'web1.fqdn' } })), 'web1.fqdn');
  t.equal(pullHostName(input({ hostname: '192.0.2.1' })), '192.0.2.1');
});

t.test('remote commands quote every value and switch users only when needed', async (t) => {
  const base: CommandSettings = { directory: "/var/tmp/it's here", sshUser: 'root', effectiveUser: 'root', method: 'sudo', passwordPrompt: undefined };
  t.equal(quote("a'b"), `'a'\\''b'`);
  t.equal(runCommand(base), `echo $$ > '/var/tmp/it'\\''s here/pid'; '/var/tmp/it'\\''s here/script'`, 'no sudo when the effective user is the login');
  t.match(uploadCommand(base), /chmod 700/);
  t.match(runCommand({ ...base, effectiveUser: 'app' }), /^echo \$\$ > .*; sudo -n -u 'app' -- sh -c /);
  t.match(runCommand({ ...base, effectiveUser: 'app', passwordPrompt: '[ask] ' }), /sudo -S -p '\[ask\] ' -u 'app' -- sh -c ''\\''\/var.*\/script'\\'' <\/dev\/null'$/, 'with a password, the script reads nothing sudo leaves on stdin');
  t.notMatch(runCommand({ ...base, passwordPrompt: '[ask] ' }), /sudo|dev\/null/, 'no switch, no prompt');
  t.notMatch(runCommand({ ...base, effectiveUser: 'app', method: 'su', passwordPrompt: '[ask] ' }), /ask|dev\/null/, 'su is never fed the password');
  t.match(runCommand({ ...base, effectiveUser: 'app', method: 'su' }), /su - 'app' -s \/bin\/sh -c /);
  t.match(runCommand({ ...base, effectiveUser: 'app', method: 'dzdo' }), /dzdo -n -u 'app'/);
  t.match(uploadCommand({ ...base, effectiveUser: 'app' }), /chmod 755/, 'the effective user can read the script');
  t.match(killCommand(base), /kill -TERM -- -\$\(cat '\/var\/tmp\/it'\\''s here\/pid'\).*sleep 5.*kill -KILL/);
  t.equal(cleanupCommand(base), `rm -rf '/var/tmp/it'\\''s here'`);
});

t.test('update bodies: v1 and legacy; anything else refused', async (t) => {
  const v1 = parseUpdate({ version: '1', updates: [{ type: 'output', timestamp: '2026-01-01T00:00:00Z', stream: 'stderr', content: 'oops' }, { type: 'exit', timestamp: '2026-01-01T00:00:01Z', exit_code: 4 }] });
  t.same(v1, { chunks: [{ output_type: 'stderr', output: 'oops', at: Date.parse('2026-01-01T00:00:00Z') }], exit: { code: 4, at: Date.parse('2026-01-01T00:00:01Z') } });
  const legacy = parseUpdate({ output: ['a', 'b'], exit_code: '1' });
  t.same(legacy?.chunks.map((c) => [c.output_type, c.output]), [['stdout', 'a'], ['stdout', 'b']]);
  t.equal(legacy?.exit?.code, 1);
  t.same(parseUpdate({ output: 'only output' })?.exit, undefined);
  t.equal(parseUpdate({ version: '2', updates: [] }), undefined, 'an unknown version is not read as legacy');
  t.equal(parseUpdate({ version: '1', updates: [{ type: 'exit' }] }), undefined, 'an exit without a code');
});

t.test('dynflow view: state, result, Foreman task id, no secrets', async (t) => {
  t.same(planState(makeJob()), { state: 'running', result: 'pending' });
  t.same(planState(makeJob({ state: 'completed', result: { exit_status: 1, exit_status_timestamp: 3 } })), { state: 'stopped', result: 'success' });
  t.same(planState(makeJob({ state: 'completed', result: { exit_status: 'EXCEPTION', exit_status_timestamp: 3 } })), { state: 'stopped', result: 'error' });
  t.same(planState(makeJob({ state: 'failed', failedReason: 'stalled' })), { state: 'stopped', result: 'error' });
  const plan = jobPlan(makeJob({ state: 'failed', failedReason: 'stalled', finishedAt: 5000 }), [{ output_type: 'stdout', output: 'x', timestamp: 2.5 }]);
  const action = (plan.actions as Array<{ input: Record<string, unknown>; output: Record<string, unknown> }>)[0];
  t.equal(action?.input.task_id, 'f-1');
  t.notOk('secrets' in (action?.input ?? {}));
  t.equal(action?.output.exit_status, 'EXCEPTION', 'a job BullMQ failed reads as EXCEPTION');
  t.same(action?.output.result, [{ output_type: 'stdout', output: 'x', timestamp: 2.5 }]);
  t.equal(plan.ended_at, new Date(5000).toISOString());
  t.notMatch(JSON.stringify(plan), /hunter2/);
});

t.test('MQTT notification payload and topic', async (t) => {
  const message = pullNotification({ messageId: 'm-1', baseUrl: 'https://proxy:9090/', jobUuid: 'j-1', event: 'start', effectiveUser: null, sent: new Date(0) });
  t.ok(pullNotificationSchema.safeParse(message).success);
  t.equal(message.content, 'https://proxy:9090/ssh/jobs/j-1');
  t.equal(message.metadata.return_url, 'https://proxy:9090/ssh/jobs/j-1/update');
  t.equal(pullNotification({ messageId: 'm', baseUrl: 'https://p', jobUuid: 'j', event: 'cancel', effectiveUser: 'u', sent: new Date(0) }).content, 'https://p/ssh/jobs/j/cancel');
  t.equal(pullTopic('host.example'), 'yggdrasil/host.example/data/in');
});

t.test('known_hosts: accept new, keep known, refuse changed or another type, forget', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'proxyhub-known-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'ssh', 'known_hosts');
  const hosts = new KnownHosts(file);
  const keyOf = (type: 'ed25519' | 'ecdsa' = 'ed25519'): Buffer => {
    const parsed = ssh2.utils.parseKey((type === 'ecdsa' ? ssh2.utils.generateKeyPairSync('ecdsa', { bits: 256 }) : ssh2.utils.generateKeyPairSync('ed25519')).public);
    if (parsed instanceof Error) throw parsed;
    return parsed.getPublicSSH();
  };
  const verdict = async (host: string, port: number, key: Buffer) => (await hosts.verify(host, port, key)).verdict;
  const first = keyOf();
  const second = keyOf();
  t.equal(await verdict('Web1', 2222, first), 'added');
  t.equal(readFileSync(file, 'utf8'), `[web1]:2222 ssh-ed25519 ${first.toString('base64')}\n`, "OpenSSH's format, lower-cased name");
  t.equal(await verdict('web1', 2222, first), 'known');
  t.equal(await verdict('web1', 2222, second), 'changed');
  t.same(await hosts.verify('web1', 2222, keyOf('ecdsa')), { verdict: 'changed', offeredType: 'ecdsa-sha2-nistp256', knownTypes: ['ssh-ed25519'] }, 'a key of another type is no new host');
  t.same(await hosts.knownTypes('web1', 2222), ['ssh-ed25519'], 'and is not learned');
  t.equal(await verdict('web1', 22, second), 'added', 'another port is another entry');
  await hosts.forget('web1', 2222);
  t.same(await hosts.knownTypes('web1', 2222), []);
  t.equal(await verdict('web1', 2222, second), 'added');
  t.equal(hostPattern('h', 22), 'h');
  t.same(preferredHostKeyAlgorithms(['ssh-rsa', 'ssh-ed25519', 'sk-ssh-ed25519@openssh.com']), ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa', 'ssh-ed25519'], 'the known types are negotiated first; unknown ones are skipped');
});

t.test('capabilities the rex worker would announce', async (t) => {
  t.same(rexCapabilities({ mode: 'pull-mqtt' }), [
    { name: 'script', state: 'running', settings: { mode: 'pull-mqtt' }, capabilities: [] },
    { name: 'dynflow', state: 'running', settings: {}, capabilities: ['ssh'] },
  ]);
});

t.test('generated key pairs always parse back (ssh2 alone fails about 1 in 256)', async (t) => {
  // 2,000 draws: the bare generator fails at least once in more than 99.9 % of runs.
  let unparsable = 0;
  for (let i = 0; i < 2000; i += 1) {
    const pair = generateParsableKeyPair('test');
    if (ssh2.utils.parseKey(pair.private) instanceof Error || ssh2.utils.parseKey(pair.public) instanceof Error) unparsable += 1;
  }
  t.equal(unparsable, 0);
});

t.test('key pair: made once even when several workers sharing a data dir start at once; ssh2 reads it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'proxyhub-keys-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const pairs = await Promise.all(Array.from({ length: 8 }, () => loadOrCreateKeyPair({ keyPath: undefined, dataDir: dir })));
  t.equal(new Set(pairs.map((pair) => pair.publicKey)).size, 1, 'one key for all');
  t.match(pairs[0]?.publicKey, /^ssh-ed25519 AAAA\S+ proxyhub@/);
  t.equal(readFileSync(join(dir, 'ssh', 'id_proxyhub.pub'), 'utf8'), `${pairs[0]?.publicKey}\n`, 'the .pub file matches the private key');
  t.notOk(ssh2.utils.parseKey(readFileSync(join(dir, 'ssh', 'id_proxyhub'))) instanceof Error);
  const again = await loadOrCreateKeyPair({ keyPath: undefined, dataDir: dir });
  t.equal(again.publicKey, pairs[0]?.publicKey, 'a restart keeps the key');
  await t.rejects(loadOrCreateKeyPair({ keyPath: join(dir, 'missing'), dataDir: dir }), /PROXYHUB_SSH_KEY .* does not exist/, 'a configured key is never made up');
});
