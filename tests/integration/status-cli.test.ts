/**
 * The operator's command line against a real hub: `proxyhub status` on one screen (live roles and
 * listeners, broker and Redis, depths) and its exit code when something needs attention, `dlq`
 * filters, `jobs cancel`, `--version`, help per command, `--json` everywhere, and the documented
 * exit codes (usage 2, not found 3, needs attention 4).
 * Runs once per transport, AMQP 0-9-1 and AMQP 1.0 (@every-transport; see scripts/test.mjs).
 */
import t from 'tap';
import { runCli } from '../helpers/cli.ts';
import { queueDepth } from '../helpers/hub-harness.ts';
import { startHubWithForeman } from '../helpers/hub-with-foreman.ts';
import { waitFor } from '../helpers/wait-for.ts';

const { foreman, hub, config, topology } = await startHubWithForeman(t);
const FACTS = '/api/v2/hosts/facts';

interface StatusJson {
  broker: { ok: boolean };
  redis: { ok: boolean; error?: string };
  capabilities: { instances: Array<{ roles: string[]; urls: Record<string, string> }>; features: Record<string, { state: string }> } | null;
  queues: Array<{ feature: string; work: number | null; deadLetters: number | null }>;
  rexJobs: { running: number; stopped: number } | null;
  attention: string[];
}

const statusJson = async (env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; status: StatusJson }> => {
  const result = await runCli(config, ['status', '--json'], env);
  return { code: result.code, status: JSON.parse(result.stdout) as StatusJson };
};

t.test('status: the live hub on one screen, exit 0 when all is well', async (t) => {
  const { code, status } = await statusJson();
  t.equal(code, 0, `nothing needs attention: ${status.attention.join('; ')}`);
  t.ok(status.broker.ok && status.redis.ok, 'broker and Redis answer');
  const roles = status.capabilities?.instances.flatMap((i) => i.roles) ?? [];
  for (const role of ['ingress', 'control', 'worker:facts']) t.ok(roles.includes(role), `${role} is live`);
  t.ok(status.capabilities?.instances.some((i) => i.urls.ingress === hub.ingressUrl && i.urls.control === hub.controlUrl), 'listeners as announced');
  t.strictSame(status.queues.find((q) => q.feature === 'facts'), { feature: 'facts', work: 0, deadLetters: 0 });
  t.strictSame(status.rexJobs, { running: 0, stopped: 0 });
  const text = await runCli(config, ['status']);
  t.equal(text.code, 0, text.stderr);
  t.match(text.stdout, /broker +ok/);
  t.match(text.stdout, /redis +ok/);
  t.match(text.stdout, /facts +0 +0/);
  t.match(text.stdout, /all well/);
});

t.test('a dead letter: status exits 4 and names it; dlq filters find it', async (t) => {
  foreman.rejectHosts.add('rejected.example.com');
  const response = await fetch(`${hub.ingressUrl}${FACTS}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'rejected.example.com', facts: {} }) });
  const { id } = (await response.json()) as { id: string };
  await waitFor(async () => (await queueDepth(topology.deadLetterQueue('facts'))) === 1, { what: 'the dead letter' });

  const { code, status } = await statusJson();
  t.equal(code, 4, 'needs attention');
  t.match(status.attention.join('\n'), /1 dead letter\(s\) in facts/);
  t.match((await runCli(config, ['status'])).stdout, /needs attention:\n {2}- 1 dead letter\(s\) in facts: proxyhub dlq list --feature facts/);

  const ids = async (...filter: string[]): Promise<string[]> => {
    const result = await runCli(config, ['dlq', 'list', '--json', ...filter]);
    t.equal(result.code, 0, result.stderr);
    return (JSON.parse(result.stdout) as Array<{ id: string }>).map((row) => row.id);
  };
  t.strictSame(await ids('--code', 'PROXYHUB_FOREMAN_REJECTED', '--status', '422', '--type', 'facts.uploaded.v1', '--since', '1h'), [id], 'every filter matches');
  t.strictSame(await ids('--code', 'PROXYHUB_EVENT_INVALID'), [], 'another code');
  t.strictSame(await ids('--since', new Date(Date.now() + 60_000).toISOString()), [], 'failed before --since');
  t.equal((await runCli(config, ['dlq', 'list', '--since', 'yesterday'])).code, 2, 'a --since that is neither a time nor an age');

  const replayNone = await runCli(config, ['dlq', 'replay', '--all', '--code', 'PROXYHUB_EVENT_INVALID', '--json']);
  t.equal(replayNone.code, 0, replayNone.stderr);
  t.strictSame(JSON.parse(replayNone.stdout), { replayed: 0, kept: 1 }, 'replay --all replays only what the filter names');
  t.equal(await queueDepth(topology.deadLetterQueue('facts')), 1);
  t.equal((await runCli(config, ['dlq', 'show', 'no-such-id', '--json'])).code, 3, 'show: not found');
});

t.test('status with Redis down: reported within its deadline, exit 4', async (t) => {
  const started = Date.now();
  const { code, status } = await statusJson({ PROXYHUB_REDIS_URL: 'redis://127.0.0.1:9' });
  t.equal(code, 4);
  t.equal(status.redis.ok, false);
  t.equal(status.rexJobs, null);
  t.ok(status.broker.ok, 'the broker is still read');
  t.ok(Date.now() - started < 30_000, `answered in ${Date.now() - started} ms`);
});

t.test('jobs: list as JSON, cancel of an unknown job is not found', async (t) => {
  const list = await runCli(config, ['jobs', 'list', '--json']);
  t.equal(list.code, 0, list.stderr);
  t.strictSame(JSON.parse(list.stdout), []);
  const cancel = await runCli(config, ['jobs', 'cancel', 'no-such-plan']);
  t.equal(cancel.code, 3);
  t.match(cancel.stderr, /no REX job or batch no-such-plan/);
  t.equal((await runCli(config, ['jobs', 'cancel'])).code, 2, 'no id: usage');
});

t.test('version, help per command, usage errors', async (t) => {
  const version = await runCli(config, ['--version']);
  t.equal(version.code, 0);
  t.match(version.stdout, /^\d+\.\d+\.\d+/);
  t.strictSame(JSON.parse((await runCli(config, ['version', '--json'])).stdout), { version: version.stdout.trim() });
  const helpDlq = await runCli(config, ['help', 'dlq']);
  t.equal(helpDlq.code, 0);
  t.match(helpDlq.stdout, /usage: proxyhub dlq replay/);
  t.match(helpDlq.stdout, /exit codes:\n {2}0 {2}success/);
  t.equal((await runCli(config, ['jobs', '--help'])).stdout, (await runCli(config, ['help', 'jobs'])).stdout, '`<cmd> --help` is `help <cmd>`');
  const general = await runCli(config, ['help']);
  for (const command of ['start', 'config', 'status', 'capabilities', 'dlq', 'jobs', 'broker', 'version']) t.match(general.stdout, new RegExp(`\\n {2}${command} `), `help lists ${command}`);
  const unknown = await runCli(config, ['dlq', 'list', '--frob']);
  t.equal(unknown.code, 2);
  t.match(unknown.stderr, /--frob/);
  const json = await runCli(config, ['frob', '--json']);
  t.equal(json.code, 2);
  t.strictSame(JSON.parse(json.stderr), { error: 'unknown command frob', exitCode: 2 }, 'errors as JSON with --json');
  const check = await runCli(config, ['config', 'check', '--json', '--role', 'ingress']);
  const plan = JSON.parse(check.stdout) as { ok: boolean; plan: string[]; problems: string[] };
  t.equal(check.code, plan.ok ? 0 : 2, `config check --json: ${plan.problems.join('; ')}`);
  t.ok(plan.plan.some((line) => line.startsWith('ingress listener')), 'the plan, line by line');
});
