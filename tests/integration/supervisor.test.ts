/**
 * `proxyhub start` with several roles runs each in a process of its own under a supervisor:
 * the children's pids are in the log and each runs one role; a role killed with SIGKILL comes
 * back while the others keep answering, and uploads flow again; SIGTERM stops them all.
 */
import { existsSync, readFileSync } from 'node:fs';
import { getPriority } from 'node:os';
import t from 'tap';
import { deleteTopology, fixedTestPort, spawnHub, testConfig, testPrefix } from '../helpers/hub-harness.ts';
import { TestForeman } from '../helpers/test-foreman.ts';
import { hubLogLines, supervisedPidOf, supervisedPids } from '../helpers/hub-log.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { autogroupLine, autogroupNice, threadNiceValues } from '../helpers/process-priority.ts';

const foreman = new TestForeman();
await foreman.start();
const prefix = testPrefix();
const INGRESS_PORT = fixedTestPort();
const config = testConfig(prefix, foreman.url, { ingress: { host: '127.0.0.1', port: INGRESS_PORT }, worker: { retryDelaysMs: [200, 400, 800, 1600], upstreamPauseMaxMs: 2000, shutdownGraceMs: 2000 } });
const hub = await spawnHub(config, 'ingress,worker:facts');
t.teardown(async () => {
  await hub.stop('SIGKILL');
  for (const pid of supervisedPids(hub)) if (alive(pid)) process.kill(pid, 'SIGKILL');
  await foreman.stop();
  await deleteTopology(prefix);
});

const alive = (pid: number): boolean => existsSync(`/proc/${pid}`);
const commandLine = (pid: number): string => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');

let uploads = 0;
async function upload(): Promise<{ status: number; name: string }> {
  uploads += 1;
  const name = `sup-${uploads}.example.com`;
  const response = await fetch(`http://127.0.0.1:${INGRESS_PORT}/api/v2/hosts/facts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, facts: { n: uploads } }) });
  await response.arrayBuffer();
  return { status: response.status, name };
}
const deliveredTo = (name: string) => () => foreman.delivered('/api/v2/hosts/facts').some((request) => (request.body as { name?: string }).name === name);

t.test('each role runs in a process of its own', async (t) => {
  const ingress = supervisedPidOf(hub, 'ingress');
  const worker = supervisedPidOf(hub, 'worker:facts');
  t.ok(ingress !== undefined && worker !== undefined, 'the started line names both children');
  const supervisor = hub.process.pid as number;
  t.not(ingress, supervisor);
  t.not(worker, supervisor);
  t.not(ingress, worker);
  t.match(commandLine(ingress as number), /start --role ingress --supervised/);
  t.match(commandLine(worker as number), /start --role worker:facts --supervised/);
  // The default PROXYHUB_WORKER_NICENESS: the facts deliveries yield the CPU to the ingress's answers.
  const base = getPriority(hub.process.pid);
  t.same([...new Set(threadNiceValues(ingress as number))], [base], 'every ingress thread runs at the supervisor\'s priority');
  const workerNice = threadNiceValues(worker as number);
  t.ok(workerNice.length > 4, `the worker's threads are all read (${workerNice.length})`);
  t.same([...new Set(workerNice)], [Math.min(19, base + 10)], 'every worker thread runs 10 nice steps lower');
  t.ok(hubLogLines(hub).some((line) => line.pid === worker && line.msg === `workers run at nice ${Math.min(19, base + 10)}: an ingress on the same cores answers first`), 'the worker says so');
  // Each role leads a session of its own, so where the kernel schedules sessions as groups the
  // worker's group must be lowered too, or its threads' nice values would rank them only among themselves.
  const workerGroup = autogroupLine(worker as number);
  if (workerGroup !== null) {
    t.equal(autogroupNice(workerGroup), Math.min(19, base + 10), "the worker's session group is lowered");
    t.not(autogroupNice(autogroupLine(ingress as number)), Math.min(19, base + 10), "the ingress's is not");
  }
  const first = await upload();
  t.equal(first.status, 202);
  await waitFor(deliveredTo(first.name), { what: 'the first upload delivered' });
});

t.test('a killed worker comes back while the ingress keeps answering', async (t) => {
  const worker = supervisedPidOf(hub, 'worker:facts') as number;
  process.kill(worker, 'SIGKILL');
  await waitFor(() => !alive(worker) || undefined, { what: 'the worker to die' });
  const meanwhile = await upload();
  t.equal(meanwhile.status, 202, 'the ingress answers while the worker is down');
  const replacement = await waitFor(() => (supervisedPidOf(hub, 'worker:facts') !== worker ? supervisedPidOf(hub, 'worker:facts') : undefined), { timeoutMs: 30_000, what: 'the worker to be restarted' });
  t.ok(alive(replacement), `a new worker process (${replacement})`);
  t.same([...new Set(threadNiceValues(replacement))], [Math.min(19, getPriority(hub.process.pid) + 10)], 'the new worker runs at the lower priority too');
  await waitFor(deliveredTo(meanwhile.name), { timeoutMs: 30_000, what: 'the upload taken while the worker was down to reach Foreman' });
});

t.test('a killed ingress comes back on its port and uploads flow again', async (t) => {
  const ingress = supervisedPidOf(hub, 'ingress') as number;
  process.kill(ingress, 'SIGKILL');
  const replacement = await waitFor(() => (supervisedPidOf(hub, 'ingress') !== ingress ? supervisedPidOf(hub, 'ingress') : undefined), { timeoutMs: 30_000, what: 'the ingress to be restarted' });
  t.not(replacement, ingress);
  const again = await upload();
  t.equal(again.status, 202, 'accepted by the new ingress on the same port');
  await waitFor(deliveredTo(again.name), { what: 'the upload delivered' });
});

t.test('SIGTERM stops every role and the supervisor, cleanly', async (t) => {
  const pids = [supervisedPidOf(hub, 'ingress') as number, supervisedPidOf(hub, 'worker:facts') as number];
  const code = await hub.stop('SIGTERM');
  t.equal(code, 0, 'the supervisor exits 0');
  for (const pid of pids) t.notOk(alive(pid), `child ${pid} is gone`);
  const stopped = hubLogLines(hub).filter((line) => / stopped$/.test(line.msg ?? '')).map((line) => line.role);
  t.same(stopped.sort(), ['ingress', 'worker:facts'], 'each role reported stopped');
});
