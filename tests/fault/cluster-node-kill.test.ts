/**
 * A RabbitMQ node killed under load, on a 3-node cluster of the test's own (never the machine's
 * broker): two ingress processes and two facts workers take a steady stream of uploads through
 * `PROXYHUB_AMQP_URL` listing every node. A follower node of the facts queue is killed with
 * SIGKILL and started again, then the node one ingress is connected to. Every upload answered 202
 * reaches Foreman exactly once (the broker redelivers what a dead node's consumers held; the
 * workers' event-id dedup drops the repeats, counted from the workers' own metrics), and every
 * refusal during a switch is a 503 with Retry-After, answered promptly.
 * The two kills are one after the other, not together: with three replicas, two nodes down is a
 * lost majority, and the quorum queues stop taking messages (by design) until one is back.
 * Runs alone (@runs-alone; see scripts/test.mjs): three broker nodes want the machine's CPU.
 * Runs once per transport, AMQP 0-9-1 and AMQP 1.0 (@every-transport).
 */
import t from 'tap';
import { createTopology } from '../../contracts/topology.ts';
import { TEST_TRANSPORT, fixedTestPort, spawnHub, testConfig, testPrefix, type ChildHub } from '../helpers/hub-harness.ts';
import { RabbitCluster, type ClusterNode } from '../helpers/rabbit-cluster.ts';
import { tcpSocketsOf } from '../helpers/sockets.ts';
import { TestForeman } from '../helpers/test-foreman.ts';
import { holdsFor, waitFor } from '../helpers/wait-for.ts';
import { uploadStreams } from '../helpers/upload-streams.ts';
import { workerDeliveries } from '../helpers/worker-deliveries.ts';

const FACTS = '/api/v2/hosts/facts';
const STREAMS_PER_INGRESS = 3;
/** A refusal must come fast: the confirm deadline is 1 s; the rest is slack for a 2-core machine. */
const PROMPT_REFUSAL_MS = 5000;

// Booting three nodes and two kill-restart rounds take minutes on a loaded 2-core machine.
t.setTimeout(600_000);

const cluster = await RabbitCluster.start({ plugins: TEST_TRANSPORT === 'amqp10' ? ['rabbitmq_amqp1_0'] : [] });
const foreman = new TestForeman();
await foreman.start();
// Slow enough answers that each worker holds deliveries when a node dies: the broker hands them
// out again, and the event-id dedup must catch those Foreman already took.
foreman.fault = { delayMs: 300 };
const prefix = testPrefix();
const topology = createTopology(prefix);
const hubs: ChildHub[] = [];
t.teardown(() => cluster.tearDownRun(prefix, { hubs, foreman }, (message) => t.comment(message)));

const ingressPorts = [fixedTestPort(), fixedTestPort()];
// A fixed metrics port per worker, to read its delivered and duplicate counts at the end.
const workerConfigs = [0, 1].map(() => testConfig(prefix, foreman.url, { amqpUrl: cluster.url, transport: TEST_TRANSPORT, observability: { metricsPort: fixedTestPort() } }));
// An ingress reaches the broker only: it is given no Foreman settings.
const ingressConfig = (port: number) => testConfig(prefix, foreman.url, { amqpUrl: cluster.url, transport: TEST_TRANSPORT, ingress: { host: '127.0.0.1', port }, foreman: {} });
for (const port of ingressPorts) hubs.push(await spawnHub(ingressConfig(port), 'ingress'));
for (const config of workerConfigs) hubs.push(await spawnHub(config, 'worker:facts'));
const [firstIngress, , ...workers] = hubs as [ChildHub, ChildHub, ...ChildHub[]];

function clusterUploads(ingressUrl: string, label: string): ReturnType<typeof uploadStreams> {
  // A steady load, not a flood: the three nodes share two cores with everything else.
  return uploadStreams(ingressUrl, { clients: STREAMS_PER_INGRESS, namePrefix: `cluster-${label}`, timeoutMs: 30_000, pauseMs: (status) => (status === 202 ? 10 : 50) });
}

/** The cluster nodes a process holds connections to (read from its sockets: any transport). */
function nodesOf(hub: ChildHub): ClusterNode[] {
  const ports = new Set(tcpSocketsOf(hub.process.pid as number).filter((s) => s.state === 'ESTABLISHED').map((s) => s.remotePort));
  return cluster.nodes.filter((node) => ports.has(node.amqpPort));
}

/** The node the first ingress publishes through: its publish connection by name, else any node it holds. */
async function publishNodeOfFirstIngress(): Promise<ClusterNode | undefined> {
  return (await cluster.nodeOfConnection(`-${firstIngress.process.pid as number} publish`)) ?? nodesOf(firstIngress)[0];
}

async function leaderOf(queue: string): Promise<string | undefined> {
  const live = cluster.nodes[0] as ClusterNode;
  const rows = JSON.parse(await cluster.ctl(live, ['list_queues', 'name', 'leader', '--formatter', 'json'])) as Array<{ name: string; leader?: string }>;
  return rows.find((row) => row.name === queue)?.leader;
}

t.test('a node killed under load: every 202 reaches Foreman exactly once, refusals are prompt 503s', async (t) => {
  const workQueue = topology.workQueue('facts');
  t.equal((await cluster.queueMembers(workQueue)).length, 3, 'the facts work queue has a member on every node');
  t.equal((await cluster.queueMembers(topology.capabilitiesStream)).length, 3, 'the capability stream has a replica on every node');

  const loads = ingressPorts.map((port, i) => clusterUploads(`http://127.0.0.1:${port}`, `i${i}`));
  const accepted = (): number => loads.reduce((sum, load) => sum + load.outcomes.filter((o) => o.status === 202).length, 0);
  const acceptedSince = async (count: number, what: string): Promise<void> => {
    const from = accepted();
    await waitFor(() => accepted() - from >= count, { timeoutMs: 90_000, intervalMs: 200, what });
  };
  await acceptedSince(200, 'uploads flowing before any kill');

  const ingressNode = await waitFor(publishNodeOfFirstIngress, { timeoutMs: 30_000, intervalMs: 500, what: "the first ingress's broker node" });
  const leader = await leaderOf(workQueue);
  const candidates = cluster.nodes.filter((node) => node !== ingressNode);
  const follower = candidates.find((node) => node.nodeName !== leader) ?? candidates[0];
  if (!follower) throw new Error('no node to kill beside the ingress node');
  t.comment(`${TEST_TRANSPORT}: facts queue leader ${leader}; first ingress on ${ingressNode.nodeName}; follower to kill ${follower.nodeName}`);
  t.comment(`workers connected to ${workers.map((w) => nodesOf(w).map((n) => n.label).join('+')).join(' and ')}`);

  await cluster.kill(follower);
  await acceptedSince(150, 'uploads accepted with a follower down');
  await cluster.restart(follower);
  await acceptedSince(100, 'uploads accepted after the follower came back');

  await cluster.kill(ingressNode);
  await acceptedSince(150, "uploads accepted with the ingress's node down (failed over)");
  await cluster.restart(ingressNode);
  await acceptedSince(100, "uploads accepted after the ingress's node came back");
  for (const load of loads) await load.stop();

  const all = loads.flatMap((load) => load.outcomes);
  const wanted = all.filter((o) => o.status === 202).map((o) => o.name);
  const refused = all.filter((o) => o.status !== 202);
  t.comment(`${wanted.length} accepted, ${refused.length} refused`);
  t.same([...new Set(refused.map((o) => o.status))].filter((s) => s !== 503), [], 'every refusal is a 503 (no connection errors, no 500s)');
  t.ok(refused.every((o) => o.retryAfter !== null && Number(o.retryAfter) > 0), 'every 503 carries Retry-After');
  const slowestRefusal = Math.max(0, ...refused.map((o) => o.ms));
  t.ok(slowestRefusal < PROMPT_REFUSAL_MS, `refusals answered promptly (slowest ${slowestRefusal.toFixed(0)} ms)`);

  const deliveredNames = (): string[] => foreman.delivered(FACTS).map((r) => (r.body as { name: string }).name);
  const missing = (): string[] => {
    const delivered = new Set(deliveredNames());
    return wanted.filter((name) => !delivered.has(name));
  };
  await waitFor(() => missing().length === 0, { timeoutMs: 120_000, intervalMs: 250, what: 'every accepted upload at Foreman' }).catch((error: unknown) => {
    // Which accepted uploads never arrived (names carry the ingress and the order they were sent
    // in) and how much did: a few lost around a kill and a stuck worker look alike otherwise.
    const lost = missing();
    t.comment(`${lost.length} of ${wanted.length} accepted uploads not at Foreman (first: ${lost.slice(0, 8).join(', ')}); ${foreman.delivered(FACTS).length} deliveries in all`);
    throw error;
  });
  // A late redelivery would show up after the count first matches: hold the check a while.
  const counts = (): Map<string, number> => deliveredNames().reduce((map, name) => map.set(name, (map.get(name) ?? 0) + 1), new Map<string, number>());
  t.ok(await holdsFor(() => wanted.every((name) => counts().get(name) === 1), 5000, 250), `all ${wanted.length} accepted uploads reached Foreman exactly once`);
  const twice = [...counts()].filter(([, n]) => n > 1);
  t.same(twice, [], 'no upload reached Foreman twice (accepted or not)');

  // The workers' own counters, not their outcome events: those go out without a confirm, and a
  // node kill loses some of them.
  const sum = async (outcome: 'delivered' | 'duplicate'): Promise<number> => (await Promise.all(workerConfigs.map((config) => workerDeliveries(config, 'facts', outcome)))).reduce((a, b) => a + b, 0);
  const [delivered, duplicate] = [await sum('delivered'), await sum('duplicate')];
  t.comment(`workers' deliveries: ${delivered} delivered, ${duplicate} redeliveries dropped by the event-id dedup`);
  t.equal(delivered, foreman.delivered(FACTS).length, 'the workers counted each delivery Foreman took, once');
});
