/**
 * The README's rolling upgrade, done under load on a 3-node cluster of the test's own (never the
 * machine's broker): two replicas of every role it takes to carry facts and reports (ingress,
 * control, `worker:facts`, `worker:reports`), each a process of its own, while keep-alive clients
 * upload facts and Ansible reports through both ingresses. First each broker node in turn is
 * drained (`rabbitmq-upgrade drain`), stopped, started again, and the next waits until no node is
 * quorum-critical; then each proxyhub replica in turn gets SIGTERM, exits, and is started again
 * (an ingress is first taken out of the load, as a load balancer would: its clients pause while
 * the other ingress keeps taking uploads). Every upload answered 202 reaches Foreman exactly once,
 * counted at the test Foreman itself (the workers' outcome events are fire-and-forget, so they
 * are not what the test trusts); every refusal is a prompt 503 with Retry-After; every replica
 * takes work again after its restart, and both control replicas answer /v2/features throughout.
 * Runs alone (@runs-alone; see scripts/test.mjs): three broker nodes and eight proxyhub processes
 * want the machine's CPU. Runs once per transport, AMQP 0-9-1 and AMQP 1.0 (@every-transport).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import type { Config } from '../../hub/config/schema.ts';
import { FIXTURES, TEST_TRANSPORT, fixedTestPort, spawnHub, testConfig, testPrefix, type ChildHub } from '../helpers/hub-harness.ts';
import { RabbitCluster, type ClusterNode } from '../helpers/rabbit-cluster.ts';
import { hubLogLines } from '../helpers/hub-log.ts';
import { TestForeman } from '../helpers/test-foreman.ts';
import { uploadStreams, type UploadOutcome, type UploadRequest } from '../helpers/upload-streams.ts';
import { holdsFor, waitFor } from '../helpers/wait-for.ts';
import { workerDeliveries } from '../helpers/worker-deliveries.ts';

const FACTS = '/api/v2/hosts/facts';
const HOST_REPORTS = '/api/v2/host_reports';
/** A refusal must come fast: the confirm deadline is 1 s; the rest is slack for a 2-core machine. */
const PROMPT_REFUSAL_MS = 5000;
/** Uploads accepted between two steps: the load goes on through every one of them. */
const ACCEPTED_PER_STEP = 40;
const STEP_TIMEOUT_MS = 90_000;
/** A proxyhub process took up to 30 s to start while other helpers' soak and cluster tests shared the two cores. */
const START_TIMEOUT_MS = 90_000;

// Booting three nodes and restarting eleven things one after the other takes minutes: 3 to 5 on
// this 2-core machine alone, nearer 10 while other suites share it (process starts then take 30 s).
t.setTimeout(900_000);

const ANSIBLE_REPORT = JSON.parse(readFileSync(join(FIXTURES, 'reports', 'smart_proxy_reports-ansible-package-install-success.json'), 'utf8')) as Record<string, unknown>;

/** An Ansible report (no facts inside, so it yields one Foreman call) for host `name`. */
function reportUpload(name: string): UploadRequest {
  return { path: '/reports/ansible', contentType: 'application/json', body: JSON.stringify({ ...ANSIBLE_REPORT, host: name }) };
}

const cluster = await RabbitCluster.start({ plugins: TEST_TRANSPORT === 'amqp10' ? ['rabbitmq_amqp1_0'] : [] });
const foreman = new TestForeman();
await foreman.start();
// Slow enough answers that a worker holds deliveries when it is told to stop: they must finish
// or go back to the queue, never be lost or delivered twice.
foreman.fault = { delayMs: 100 };
const prefix = testPrefix();

interface Replica {
  readonly label: string;
  readonly roles: string;
  readonly config: Config;
  hub: ChildHub;
}

const replicas: Replica[] = [];
// The hubs as they are at the end: a restarted replica holds its new process.
t.teardown(() => cluster.tearDownRun(prefix, { hubs: replicas.map((replica) => replica.hub), foreman }, (message) => t.comment(message)));

async function startReplica(label: string, roles: string, config: Config): Promise<Replica> {
  const replica = { label, roles, config, hub: await spawnHub(config, roles, {}, START_TIMEOUT_MS) };
  replicas.push(replica);
  return replica;
}

const base = { amqpUrl: cluster.url, transport: TEST_TRANSPORT } as const;
// An ingress reaches the broker only: it is given no Foreman settings.
const ingressConfig = (): Config => testConfig(prefix, foreman.url, { ...base, ingress: { host: '127.0.0.1', port: fixedTestPort() }, foreman: {} });
const controlConfig = (): Config => testConfig(prefix, foreman.url, { ...base, control: { host: '127.0.0.1', port: fixedTestPort() } });
// A worker-only process opens a metrics port (facts at the base port, reports at +1); a fixed one
// per replica, so that its deliveries since a restart can be read.
const workerConfig = (): Config => testConfig(prefix, foreman.url, { ...base, observability: { metricsPort: fixedTestPort() } });

// Started together: one after the other, eight process starts took minutes on a crowded machine.
const starting = await Promise.allSettled([
  startReplica('ingress 1', 'ingress', ingressConfig()),
  startReplica('ingress 2', 'ingress', ingressConfig()),
  startReplica('control 1', 'control', controlConfig()),
  startReplica('control 2', 'control', controlConfig()),
  startReplica('facts 1', 'worker:facts', workerConfig()),
  startReplica('facts 2', 'worker:facts', workerConfig()),
  startReplica('reports 1', 'worker:reports', workerConfig()),
  startReplica('reports 2', 'worker:reports', workerConfig()),
]);
const failedStart = starting.find((result) => result.status === 'rejected');
if (failedStart) throw failedStart.reason;
const byLabel = (kind: string): Replica[] => replicas.filter((replica) => replica.label.startsWith(kind)).sort((a, b) => a.label.localeCompare(b.label));
const ingresses = byLabel('ingress');
const controls = byLabel('control');
const workers = [...byLabel('facts'), ...byLabel('reports')];

/** A worker process's deliveries since it started, by outcome (its counters start at 0). */
async function deliveriesOf(worker: Replica, outcome: 'delivered' | 'duplicate' | 'retried'): Promise<number> {
  return workerDeliveries(worker.config, worker.roles.replace('worker:', ''), outcome);
}

/** Facts and reports clients of one ingress; stopped and replaced when their ingress restarts. */
interface Load {
  readonly kind: 'facts' | 'reports';
  readonly streams: ReturnType<typeof uploadStreams>;
}
const loads: Load[] = [];
const loadsOf = new Map<Replica, Load[]>();
let generation = 0;

function startLoad(ingress: Replica): Load[] {
  const url = `http://127.0.0.1:${ingress.config.ingress.port}`;
  const tag = `roll-${ingress.label.replace(' ', '')}-g${generation++}`;
  // A steady load, not a flood: the three nodes and eight hubs share two cores.
  const pauseMs = (status: number): number => (status === 202 ? 25 : 50);
  const started: Load[] = [
    { kind: 'facts', streams: uploadStreams(url, { clients: 1, namePrefix: `${tag}-facts`, timeoutMs: 30_000, pauseMs }) },
    { kind: 'reports', streams: uploadStreams(url, { clients: 1, namePrefix: `${tag}-report`, timeoutMs: 30_000, pauseMs, upload: reportUpload }) },
  ];
  loads.push(...started);
  loadsOf.set(ingress, started);
  return started;
}

const outcomesOf = (kind?: Load['kind'], of: readonly Load[] = loads): UploadOutcome[] => of.filter((load) => kind === undefined || load.kind === kind).flatMap((load) => load.streams.outcomes);
const acceptedIn = (of: readonly Load[] = loads): number => outcomesOf(undefined, of).filter((o) => o.status === 202).length;
const refusedSoFar = (): number => outcomesOf().filter((o) => o.status !== 202).length;

async function acceptedSince(count: number, what: string, of?: readonly Load[]): Promise<void> {
  const from = acceptedIn(of);
  await waitFor(() => acceptedIn(of) - from >= count, { timeoutMs: STEP_TIMEOUT_MS, intervalMs: 200, what });
}

/** What a replica logged at warn or above, its last `lines` such lines. */
function warningsOf(replica: Replica, lines = 15): string[] {
  return hubLogLines(replica.hub)
    .filter((line) => (line.level ?? 0) >= 40)
    .slice(-lines)
    .map((line) => JSON.stringify(line));
}

/** Both control replicas answer /v2/features with the reports feature running. */
async function controlsAnswer(when: string): Promise<void> {
  for (const control of controls) {
    const controlUrl = `http://127.0.0.1:${control.config.control.port}`;
    await waitFor(
      async () => {
        const response = await fetch(`${controlUrl}/v2/features`).catch(() => undefined);
        if (response?.status !== 200) return false;
        const features = (await response.json()) as Record<string, { state?: string }>;
        return features.reports?.state === 'running';
      },
      { timeoutMs: 60_000, intervalMs: 500, what: `${control.label} to answer /v2/features with reports running ${when}` },
    ).catch(async (error: unknown) => {
      // Which instances this control believes live, and what every replica warned of, say
      // whether the workers stopped announcing or this control stopped reading the stream.
      const snapshot = await fetch(`${controlUrl}/capabilities`)
        .then(async (response) => `${response.status} ${await response.text()}`)
        .catch((cause: unknown) => String(cause));
      t.comment(`${control.label} /capabilities: ${snapshot.slice(0, 4000)}`);
      for (const replica of replicas) t.comment(`${replica.label} warnings:\n${warningsOf(replica).join('\n')}`);
      throw error;
    });
  }
}

/**
 * One step of the rolling restart, with what was accepted and refused while it ran and how long
 * each of its phases took (`phase(name)` ends the phase running so far).
 */
async function step(t: Test, what: string, run: (phase: (name: string) => void) => Promise<void>): Promise<void> {
  const [accepted, refused, started] = [acceptedIn(), refusedSoFar(), performance.now()];
  const phases: string[] = [];
  let phaseStart = started;
  const phase = (name: string): void => {
    const now = performance.now();
    phases.push(`${name} ${((now - phaseStart) / 1000).toFixed(1)} s`);
    phaseStart = now;
  };
  await run(phase);
  t.comment(`${what}: ${((performance.now() - started) / 1000).toFixed(1)} s (${phases.join(', ')}), ${acceptedIn() - accepted} accepted, ${refusedSoFar() - refused} refused`);
}

/** SIGTERM, wait for the exit, start again with the same configuration. */
async function restart(t: Test, replica: Replica, phase: (name: string) => void): Promise<void> {
  const code = await replica.hub.stop('SIGTERM');
  t.equal(code, 0, `${replica.label} stopped cleanly on SIGTERM`);
  phase('stop');
  replica.hub = await spawnHub(replica.config, replica.roles, {}, START_TIMEOUT_MS);
  phase('start');
}

const duplicatesDropped: number[] = [];
const retried: number[] = [];

t.test('a rolling restart of every node and every replica under load: every 202 reaches Foreman exactly once', async (t) => {
  for (const ingress of ingresses) startLoad(ingress);
  await acceptedSince(150, 'uploads flowing before the rolling restart');
  await controlsAnswer('before the rolling restart');

  for (const [i, node] of cluster.nodes.entries()) {
    await step(t, `node ${node.label} drained, stopped, started`, async (phase) => {
      await cluster.drain(node);
      phase('drain');
      await cluster.stopGracefully(node);
      phase('stop');
      await acceptedSince(ACCEPTED_PER_STEP, `uploads accepted with node ${node.label} down`);
      phase('load while down');
      await cluster.startAgain(node);
      phase('start');
      // As the README says: the next node goes down once it is not quorum-critical, that is once
      // the restarted node's queue members are back (after the last node, the first is asked).
      await cluster.waitNotQuorumCritical(cluster.nodes[(i + 1) % cluster.nodes.length] as ClusterNode);
      phase('until the next node is not quorum-critical');
      await acceptedSince(ACCEPTED_PER_STEP, `uploads accepted after node ${node.label} came back`);
      phase('load after');
      await controlsAnswer(`after node ${node.label} came back`);
      phase('controls answer');
    });
  }

  for (const ingress of ingresses) {
    await step(t, `${ingress.label} restarted`, async (phase) => {
      // Out of the load balancer first: its clients stop; the other ingress takes the load.
      await Promise.all((loadsOf.get(ingress) ?? []).map((load) => load.streams.stop()));
      await restart(t, ingress, phase);
      const back = startLoad(ingress);
      await acceptedSince(ACCEPTED_PER_STEP, `${ingress.label} accepting again`, back);
    });
  }

  for (const control of controls) {
    await step(t, `${control.label} restarted`, async (phase) => {
      await restart(t, control, phase);
      await controlsAnswer(`after ${control.label} restarted`);
      phase('controls answer');
      await acceptedSince(ACCEPTED_PER_STEP, `uploads accepted after ${control.label} restarted`);
    });
  }

  for (const worker of workers) {
    await step(t, `${worker.label} restarted`, async (phase) => {
      duplicatesDropped.push(await deliveriesOf(worker, 'duplicate').catch(() => 0));
      retried.push(await deliveriesOf(worker, 'retried').catch(() => 0));
      await restart(t, worker, phase);
      await waitFor(async () => (await deliveriesOf(worker, 'delivered').catch(() => 0)) > 0, { timeoutMs: STEP_TIMEOUT_MS, intervalMs: 500, what: `${worker.label} delivering again` });
      phase('delivering');
      await acceptedSince(ACCEPTED_PER_STEP, `uploads accepted after ${worker.label} restarted`);
    });
  }
  await controlsAnswer('after the round');
  for (const load of loads) await load.streams.stop();

  const all = outcomesOf();
  const refused = all.filter((o) => o.status !== 202);
  t.comment(`${TEST_TRANSPORT}: ${all.length - refused.length} accepted (${outcomesOf('facts').filter((o) => o.status === 202).length} facts, ${outcomesOf('reports').filter((o) => o.status === 202).length} reports), ${refused.length} refused`);
  t.same([...new Set(refused.map((o) => o.status))].filter((s) => s !== 503), [], 'every refusal is a 503 (no connection errors, no 500s)');
  t.ok(refused.every((o) => o.retryAfter !== null && Number(o.retryAfter) > 0), 'every 503 carries Retry-After');
  const slowestRefusal = Math.max(0, ...refused.map((o) => o.ms));
  t.ok(slowestRefusal < PROMPT_REFUSAL_MS, `refusals answered promptly (slowest ${slowestRefusal.toFixed(0)} ms)`);

  // Counted at Foreman: a facts upload by the host name it carries, a report by its host.
  const names = (): string[] => [...foreman.delivered(FACTS).map((r) => (r.body as { name: string }).name), ...foreman.delivered(HOST_REPORTS).map((r) => (r.body as { host_report: { host: string } }).host_report.host)];
  const wanted = all.filter((o) => o.status === 202).map((o) => o.name);
  const drainStarted = performance.now();
  await waitFor(
    () => {
      const delivered = new Set(names());
      return wanted.every((name) => delivered.has(name));
    },
    { timeoutMs: 120_000, intervalMs: 250, what: 'every accepted upload at Foreman' },
  ).catch((error: unknown) => {
    const delivered = new Set(names());
    t.comment(`missing at Foreman: ${wanted.filter((name) => !delivered.has(name)).slice(0, 20).join(', ')}`);
    throw error;
  });
  t.comment(`the last accepted upload reached Foreman ${((performance.now() - drainStarted) / 1000).toFixed(1)} s after the load stopped`);
  // A late redelivery would show up after the count first matches: hold the check a while.
  const counts = (): Map<string, number> => names().reduce((map, name) => map.set(name, (map.get(name) ?? 0) + 1), new Map<string, number>());
  t.ok(await holdsFor(() => wanted.every((name) => counts().get(name) === 1), 5000, 250), `all ${wanted.length} accepted uploads reached Foreman exactly once`);
  const twice = [...counts()].filter(([, n]) => n > 1);
  t.same(twice, [], 'no upload reached Foreman twice (accepted or not)');
  // Which copy came when, how long Foreman took to answer it, and its trace (same trace id: one event sent twice).
  for (const [name] of twice) {
    const copies = [...foreman.delivered(FACTS), ...foreman.delivered(HOST_REPORTS)].filter((r) => JSON.stringify(r.body).includes(name));
    t.comment(`${name}: ${copies.map((r) => `arrived ${(r.arrivedAt - (copies[0]?.arrivedAt ?? 0)).toFixed(0)} ms, answered after ${(r.at - r.arrivedAt).toFixed(0)} ms, traceparent ${String(r.headers.traceparent)}`).join('; ')}`);
  }

  for (const worker of workers) {
    duplicatesDropped.push(await deliveriesOf(worker, 'duplicate').catch(() => 0));
    retried.push(await deliveriesOf(worker, 'retried').catch(() => 0));
  }
  const total = (counts: number[]): number => counts.reduce((sum, n) => sum + n, 0);
  t.comment(`workers' metrics: ${total(duplicatesDropped)} redeliveries dropped by the event-id dedup, ${total(retried)} deliveries retried`);
});
