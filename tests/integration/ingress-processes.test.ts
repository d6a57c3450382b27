/**
 * `PROXYHUB_INGRESS_PROCESSES=2`: `proxyhub start --role ingress` runs two ingress processes on
 * one port under a primary. Connections reach both; a scrape of `/metrics` counts the uploads
 * both took; the listener's cap on unanswered requests is shared between them; a killed process
 * comes back while the other keeps answering; SIGTERM stops them all.
 */
import { existsSync, readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import t, { type Test } from 'tap';
import { deleteTopology, fixedTestPort, spawnHub, testConfig, testPrefix } from '../helpers/hub-harness.ts';
import { factsAnswerPids, hubLogLines, supervisedPidOf, supervisedPids } from '../helpers/hub-log.ts';
import { uploadFactsOnNewConnection } from '../helpers/ingress-connection.ts';
import { waitFor } from '../helpers/wait-for.ts';

const prefix = testPrefix();
const INGRESS_PORT = fixedTestPort();
const base = testConfig(prefix, 'http://127.0.0.1:9');
// An ingress-only process refuses Foreman settings: none are given.
const config = testConfig(prefix, 'http://127.0.0.1:9', {
  foreman: {},
  ingress: { host: '127.0.0.1', port: INGRESS_PORT },
  // Two unanswered requests for the listener: one for each process.
  limits: { ...base.limits, ingressProcesses: 2, maxInflightRequests: 2 },
  observability: { metricsPort: 0, metricsReaders: ['localhost'] },
});
const hub = await spawnHub(config, 'ingress');
t.teardown(async () => {
  await hub.stop('SIGKILL');
  for (const pid of supervisedPids(hub)) if (alive(pid)) process.kill(pid, 'SIGKILL');
  await deleteTopology(prefix);
});

const alive = (pid: number): boolean => existsSync(`/proc/${pid}`);
const commandLine = (pid: number): string => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');

/** One upload on a connection of its own: the primary hands each new connection to the next process. */
async function upload(index: number): Promise<number> {
  return (await uploadFactsOnNewConnection(INGRESS_PORT, `proc-${index}.example.com`, { n: index })).status;
}

/** `count` uploads one after another (the listener holds at most two at once here). */
async function uploads(first: number, count: number): Promise<number[]> {
  const statuses: number[] = [];
  for (let index = first; index < first + count; index += 1) statuses.push(await upload(index));
  return statuses;
}

/** A request whose body never comes: admitted, it stays unanswered until the socket closes. */
async function heldRequest(): Promise<Socket> {
  const socket = connect(INGRESS_PORT, '127.0.0.1');
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.on('error', () => undefined);
  socket.write('POST /api/v2/hosts/facts HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{');
  return socket;
}

async function acceptedUploadsScraped(t: Test): Promise<number> {
  const response = await fetch(`http://localhost:${INGRESS_PORT}/metrics`);
  t.equal(response.status, 200, 'the listed reader may scrape');
  const text = await response.text();
  const line = text.split('\n').find((l) => l.startsWith('proxyhub_http_requests_total{') && l.includes('route="/api/v2/hosts/facts"') && l.includes('status="202"'));
  return Number(line?.split(' ').at(-1) ?? 0);
}

t.test('two ingress processes under a primary, each taking connections', async (t) => {
  const [first, second] = [supervisedPidOf(hub, 'ingress#1'), supervisedPidOf(hub, 'ingress#2')];
  t.ok(first !== undefined && second !== undefined, 'the started line names both processes');
  t.not(first, second);
  const primary = hub.process.pid as number;
  t.not(first, primary);
  t.match(commandLine(first as number), /start --role ingress --supervised/);
  t.match(commandLine(second as number), /start --role ingress --supervised/);
  const plan = await waitFor(() => hubLogLines(hub).find((line) => line.msg === 'deployment plan')?.plan, { what: 'the deployment plan in the log' });
  t.ok(plan.some((line) => line.includes('2 processes on this port (PROXYHUB_INGRESS_PROCESSES), 1 unanswered request each')), 'the plan says how the ingress runs');
  const statuses = await uploads(0, 8);
  t.same(statuses, Array.from({ length: 8 }, () => 202), 'every upload accepted');
  await waitFor(() => factsAnswerPids(hub).length >= 8 || undefined, { what: 'the access log lines of the 8 uploads' });
  const answeredBy = new Set(factsAnswerPids(hub));
  t.ok(answeredBy.has(first as number) && answeredBy.has(second as number), `both processes answered (${[...answeredBy].join(', ')})`);
});

t.test('a scrape counts what every process accepted, whichever process answers it', async (t) => {
  for (let scrape = 0; scrape < 4; scrape += 1) t.equal(await acceptedUploadsScraped(t), 8, `scrape ${scrape + 1}: 8 uploads`);
});

t.test("the processes share the listener's cap on unanswered requests", async (t) => {
  // Consecutive connections go to different free processes: one held request each.
  const held = [await heldRequest(), await heldRequest()];
  t.teardown(() => held.forEach((socket) => socket.destroy()));
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.equal(await upload(50), 503, 'a third request finds its process at its share (1 of 2) and is refused');
  held.forEach((socket) => socket.destroy());
  t.equal(await waitFor(async () => ((await upload(51)) === 202 ? 202 : undefined), { what: 'uploads accepted once the held requests are gone' }), 202);
});

t.test('a killed process comes back while the other keeps answering', async (t) => {
  const victim = supervisedPidOf(hub, 'ingress#1') as number;
  process.kill(victim, 'SIGKILL');
  // Once the primary has seen it go, no new connection is handed to it.
  await waitFor(() => hubLogLines(hub).some((line) => line.msg?.startsWith('role ingress#1 exited')) || undefined, { what: 'the primary to see the process exit' });
  const meanwhile = await uploads(100, 4);
  t.same(meanwhile, [202, 202, 202, 202], 'the other process answers while one is down');
  const replacement = await waitFor(() => (supervisedPidOf(hub, 'ingress#1') !== victim ? supervisedPidOf(hub, 'ingress#1') : undefined), { timeoutMs: 30_000, what: 'the process to be restarted' });
  t.ok(alive(replacement), `a new ingress process (${replacement})`);
  const after = await uploads(200, 8);
  t.same(after, Array.from({ length: 8 }, () => 202));
  // Access log lines are written within a second.
  t.ok(await waitFor(() => factsAnswerPids(hub).includes(replacement), { what: 'an upload answered by the restarted process' }), 'the restarted process takes connections again');
});

t.test('SIGTERM stops every process and the primary, cleanly', async (t) => {
  const pids = [supervisedPidOf(hub, 'ingress#1') as number, supervisedPidOf(hub, 'ingress#2') as number];
  const code = await hub.stop('SIGTERM');
  t.equal(code, 0, 'the primary exits 0');
  for (const pid of pids) t.notOk(alive(pid), `process ${pid} is gone`);
  // `role … stopped` lines only (the shedding test's `load shedding stopped` names no role).
  const stopped = hubLogLines(hub).filter((line) => line.role !== undefined && / stopped$/.test(line.msg ?? '')).map((line) => line.role);
  t.same(stopped.sort(), ['ingress#1', 'ingress#2'], 'each process reported stopped');
});
