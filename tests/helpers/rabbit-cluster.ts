/**
 * A RabbitMQ cluster of its own for fault tests: three nodes on loopback beside the machine's
 * broker, which this never touches. Each node has its own name, ports, data and log directories,
 * enabled-plugins file and config file (the machine's /etc/rabbitmq/rabbitmq.conf would bind
 * 5672), and the nodes share an Erlang cookie kept in a HOME of their own, so that rabbitmqctl run
 * with that HOME reaches these nodes and nothing else. A node can be killed with SIGKILL (its
 * whole process group: the start script, beam and its helpers) and started again on the same
 * data, as after a power cut, or drained and stopped the way an operator does it in a rolling
 * restart. `stop()` kills every node and removes every directory.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import amqplib from 'amqplib';
import { deleteRedisKeys, deleteTopology, type ChildHub } from './hub-harness.ts';
import type { TestForeman } from './test-foreman.ts';
import { waitFor } from './wait-for.ts';

const run = promisify(execFile);

/** The Debian package's own scripts: /usr/sbin's wrappers would switch to the rabbitmq user. */
const RABBITMQ_BIN = '/usr/lib/rabbitmq/bin';

/**
 * RabbitMQ 3.10.8 kills its at-least-once dead-letter supervisor when quorum queues with that
 * strategy are deleted in the first seconds after a node boot (see tests/helpers/services.ts);
 * `settle()` waits this long after the last boot.
 */
const SETTLE_AFTER_BOOT_MS = 10_000;

export interface ClusterNode {
  /** Short label, `a`, `b`, `c`. */
  readonly label: string;
  /** Erlang node name, `ph-<run>-a@localhost`. */
  readonly nodeName: string;
  readonly amqpPort: number;
  readonly distPort: number;
  /** AMQP 0-9-1 URL of this node alone. */
  readonly url: string;
}

interface NodeProcess {
  child: ChildProcess;
  exited: Promise<void>;
}

export interface RabbitClusterOptions {
  /** @defaultValue 3 */
  readonly size?: number;
  /** Plugins to enable; the AMQP 1.0 plugin for rhea transport tests. @defaultValue [] */
  readonly plugins?: readonly string[];
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * `count` consecutive free ports below the kernel's ephemeral range (an outgoing connection of a
 * test running meanwhile could take one inside it) and away from the machine's services.
 */
async function freePortRun(count: number): Promise<number> {
  let ephemeralLow = 32768;
  try {
    ephemeralLow = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || ephemeralLow;
  } catch {
    // Not Linux: the default holds.
  }
  const low = 20_000;
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = low + Math.floor(Math.random() * Math.max(1000, ephemeralLow - low - count));
    const ports = Array.from({ length: count }, (_, i) => base + i);
    if ((await Promise.all(ports.map(portIsFree))).every(Boolean)) return base;
  }
  throw new Error(`no run of ${count} free ports found`);
}

export class RabbitCluster {
  readonly nodes: readonly ClusterNode[];
  readonly #base: string;
  readonly #home: string;
  readonly #processes = new Map<string, NodeProcess>();
  #lastBootAt = 0;
  #stopped = false;
  #forgetExitHook = (): void => undefined;

  private constructor(base: string, nodes: readonly ClusterNode[]) {
    this.#base = base;
    this.#home = join(base, 'home');
    this.nodes = nodes;
  }

  /** Boots the nodes at once, joins the others to the first, and waits until all run as one cluster. */
  static async start(options: RabbitClusterOptions = {}): Promise<RabbitCluster> {
    const size = options.size ?? 3;
    const base = mkdtempSync(join(tmpdir(), 'proxyhub-cluster-'));
    const run = randomBytes(3).toString('hex');
    const firstPort = await freePortRun(size * 2);
    const nodes = Array.from({ length: size }, (_, i): ClusterNode => {
      const label = String.fromCharCode(97 + i);
      const amqpPort = firstPort + i * 2;
      return { label, nodeName: `ph-${run}-${label}@localhost`, amqpPort, distPort: amqpPort + 1, url: `amqp://guest:guest@127.0.0.1:${amqpPort}` };
    });
    const cluster = new RabbitCluster(base, nodes);
    // A test process that dies without its teardown (an uncaught error) still takes its nodes
    // along: they run detached, in process groups of their own, and would outlive it.
    const killAtExit = (): void => cluster.#killAllNow();
    process.once('exit', killAtExit);
    cluster.#forgetExitHook = () => process.removeListener('exit', killAtExit);
    try {
      cluster.#prepare(options.plugins ?? []);
      await Promise.all(nodes.map((node) => cluster.#boot(node)));
      const [first, ...others] = nodes;
      for (const node of others) {
        await cluster.ctl(node, ['stop_app']);
        await cluster.ctl(node, ['join_cluster', (first as ClusterNode).nodeName]);
        await cluster.ctl(node, ['start_app']);
      }
      await waitFor(async () => (await cluster.runningNodes(first as ClusterNode)).length === size, { timeoutMs: 60_000, intervalMs: 500, what: `${size} nodes running as one cluster` });
      return cluster;
    } catch (error) {
      await cluster.stop();
      throw error;
    }
  }

  /** Every node's URL, comma-separated: what PROXYHUB_AMQP_URL takes. */
  get url(): string {
    return this.nodes.map((node) => node.url).join(',');
  }

  node(label: string): ClusterNode {
    const node = this.nodes.find((n) => n.label === label);
    if (!node) throw new Error(`no node ${label}`);
    return node;
  }

  #prepare(plugins: readonly string[]): void {
    mkdirSync(this.#home, { recursive: true });
    const cookie = join(this.#home, '.erlang.cookie');
    writeFileSync(cookie, randomBytes(20).toString('hex').toUpperCase());
    chmodSync(cookie, 0o400);
    for (const node of this.nodes) {
      const dir = this.#nodeDir(node);
      mkdirSync(join(dir, 'log'), { recursive: true });
      mkdirSync(join(dir, 'mnesia'), { recursive: true });
      writeFileSync(join(dir, 'enabled_plugins'), `[${plugins.join(',')}].\n`);
      writeFileSync(join(dir, 'rabbitmq.conf'), [`listeners.tcp.default = 127.0.0.1:${node.amqpPort}`, 'loopback_users.guest = true', 'log.console = false', 'log.file.level = warning', ''].join('\n'));
      // An empty env file of its own: /etc/rabbitmq/rabbitmq-env.conf names the machine's node.
      writeFileSync(join(dir, 'rabbitmq-env.conf'), '');
    }
  }

  #nodeDir(node: ClusterNode): string {
    return join(this.#base, node.label);
  }

  #environment(node?: ClusterNode): NodeJS.ProcessEnv {
    const common = { PATH: process.env.PATH, HOME: this.#home, LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' };
    if (!node) return common;
    const dir = this.#nodeDir(node);
    return {
      ...common,
      RABBITMQ_NODENAME: node.nodeName,
      RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
      RABBITMQ_NODE_PORT: String(node.amqpPort),
      RABBITMQ_DIST_PORT: String(node.distPort),
      RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
      RABBITMQ_LOG_BASE: join(dir, 'log'),
      RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
      RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq.conf'),
      RABBITMQ_ADVANCED_CONFIG_FILE: join(dir, 'advanced.config'),
      RABBITMQ_CONF_ENV_FILE: join(dir, 'rabbitmq-env.conf'),
      RABBITMQ_PID_FILE: join(dir, 'pid'),
      // The machine's epmd listens on loopback only; distribution stays there too.
      ERL_EPMD_ADDRESS: '127.0.0.1',
      ERL_FLAGS: '-kernel inet_dist_use_interface {127,0,0,1}',
    };
  }

  /** Starts one node's server (in a process group of its own) and waits until AMQP answers. */
  async #boot(node: ClusterNode): Promise<void> {
    const child = spawn(join(RABBITMQ_BIN, 'rabbitmq-server'), [], { env: this.#environment(node), stdio: 'ignore', detached: true });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    this.#processes.set(node.label, { child, exited });
    await waitFor(async () => child.exitCode !== null || child.signalCode !== null || (await amqpAnswers(node.url)), { timeoutMs: 120_000, intervalMs: 250, what: `cluster node ${node.nodeName} to accept AMQP` });
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`cluster node ${node.nodeName} exited while booting; logs in ${join(this.#nodeDir(node), 'log')}`);
    this.#lastBootAt = Date.now();
  }

  /** `rabbitmqctl -n <node> …` with the cluster's own cookie. */
  async ctl(node: ClusterNode, args: readonly string[], timeoutMs = 60_000): Promise<string> {
    return this.tool('rabbitmqctl', node, args, timeoutMs);
  }

  /** The nodes `node` sees running in its cluster. */
  async runningNodes(node: ClusterNode): Promise<string[]> {
    const stdout = await this.ctl(node, ['cluster_status', '--formatter', 'json']).catch(() => '{}');
    const status = JSON.parse(stdout || '{}') as { running_nodes?: string[] };
    return status.running_nodes ?? [];
  }

  /** Power cut: SIGKILL to the node's whole process group; resolves once it is gone. */
  async kill(node: ClusterNode): Promise<void> {
    const running = this.#processes.get(node.label);
    if (!running) return;
    this.#processes.delete(node.label);
    try {
      process.kill(-(running.child.pid as number), 'SIGKILL');
    } catch {
      // Already gone.
    }
    await running.exited;
    await waitFor(async () => !(await amqpAnswers(node.url)), { timeoutMs: 10_000, what: `${node.nodeName} to stop answering` });
  }

  /** Starts a killed node again on its data and waits until the cluster counts it running. */
  async restart(node: ClusterNode): Promise<void> {
    await this.#boot(node);
    const others = this.nodes.filter((n) => n !== node && this.#processes.has(n.label));
    await waitFor(async () => (await this.runningNodes(others[0] ?? node)).includes(node.nodeName), { timeoutMs: 60_000, intervalMs: 500, what: `${node.nodeName} back in the cluster` });
  }

  /**
   * The operator's first step down in a rolling restart: `rabbitmq-upgrade drain` puts the node in
   * maintenance mode (its quorum queue leaders move to other nodes, its client listeners close
   * and its clients are disconnected).
   */
  async drain(node: ClusterNode): Promise<void> {
    await this.tool('rabbitmq-upgrade', node, ['drain'], 180_000);
  }

  /** `rabbitmqctl stop`: the node shuts down in order; resolves once its process is gone. */
  async stopGracefully(node: ClusterNode): Promise<void> {
    const running = this.#processes.get(node.label);
    if (!running) return;
    this.#processes.delete(node.label);
    await this.ctl(node, ['stop'], 180_000);
    await running.exited;
  }

  /**
   * Starts a stopped node and waits until the cluster counts it running and it has left
   * maintenance mode (a drained node comes back revived on 3.10; `revive` covers a version that
   * keeps the flag across restarts).
   */
  async startAgain(node: ClusterNode): Promise<void> {
    await this.restart(node);
    await this.tool('rabbitmq-upgrade', node, ['revive'], 60_000);
  }

  /**
   * Waits until `rabbitmq-diagnostics check_if_node_is_quorum_critical` passes on `node`: every
   * quorum queue keeps a majority of online members without it, so it may go down next (after a
   * restart, this is how the restarted node's members are known to be back).
   */
  async waitNotQuorumCritical(node: ClusterNode, timeoutMs = 180_000): Promise<void> {
    const passes = (): Promise<boolean> =>
      this.tool('rabbitmq-diagnostics', node, ['check_if_node_is_quorum_critical'], 60_000).then(
        () => true,
        () => false,
      );
    await waitFor(passes, { timeoutMs, intervalMs: 1000, what: `${node.nodeName} no longer quorum-critical` });
  }

  /** One of RabbitMQ's command-line tools (`rabbitmq-upgrade`, `rabbitmq-diagnostics`, …) against one node, with the cluster's cookie. */
  async tool(name: string, node: ClusterNode, args: readonly string[], timeoutMs = 60_000): Promise<string> {
    const { stdout } = await run(join(RABBITMQ_BIN, name), ['-n', node.nodeName, ...args], { env: this.#environment(), timeout: timeoutMs });
    return stdout;
  }

  /** For teardown after a failure: every killed node started again, so that queues can be deleted. */
  async ensureAllRunning(): Promise<void> {
    for (const node of this.nodes) if (!this.#processes.has(node.label)) await this.restart(node);
  }

  /** Waits out RabbitMQ 3.10's wedge window after the last boot before quorum queues are deleted. */
  async settle(): Promise<void> {
    const wait = this.#lastBootAt + SETTLE_AFTER_BOOT_MS - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }

  /** The node names holding a queue's members (quorum) or its replicas (stream). */
  async queueMembers(queue: string): Promise<string[]> {
    const node = this.nodes.find((n) => this.#processes.has(n.label));
    if (!node) return [];
    const stdout = await this.ctl(node, ['list_queues', 'name', 'type', 'members', '--formatter', 'json']);
    const rows = JSON.parse(stdout) as Array<{ name: string; members?: string[] | '' }>;
    const row = rows.find((r) => r.name === queue);
    return Array.isArray(row?.members) ? row.members : [];
  }

  /** The node a client connection is attached to (by the port it reached), if any has `connectionName` in its name. */
  async nodeOfConnection(connectionName: string): Promise<ClusterNode | undefined> {
    const live = this.nodes.find((n) => this.#processes.has(n.label));
    if (!live) return undefined;
    const stdout = await this.ctl(live, ['list_connections', 'port', 'client_properties', '--formatter', 'json'], 20_000).catch(() => '[]');
    const rows = JSON.parse(stdout || '[]') as Array<{ port: number; client_properties: unknown }>;
    const row = rows.find((r) => JSON.stringify(r.client_properties).includes(connectionName));
    return row === undefined ? undefined : this.nodes.find((n) => n.amqpPort === row.port);
  }

  /**
   * The teardown of a test run on this cluster, in the order that leaves nothing behind: the run's
   * hubs stopped, then its Foreman; every node running again and past the wedge window after its
   * boot (RabbitMQ 3.10 wedges when at-least-once quorum queues are deleted right after one); the
   * prefix's topology deleted through the first node (a failure only `comment`ed, so the rest
   * still runs) and its Redis keys; then `stop()`.
   */
  async tearDownRun(prefix: string, run: { readonly hubs: readonly ChildHub[]; readonly foreman: TestForeman }, comment: (message: string) => void): Promise<void> {
    await Promise.all(run.hubs.map((hub) => hub.stop()));
    await run.foreman.stop();
    await this.ensureAllRunning();
    await this.settle();
    const live = this.nodes[0] as ClusterNode;
    await deleteTopology(prefix, undefined, live.url).catch((error: unknown) => comment(`topology cleanup: ${String(error)}`));
    await deleteRedisKeys(prefix);
    await this.stop();
  }

  /** Kills every node and removes every directory the cluster used. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const node of this.nodes) await this.kill(node).catch(() => undefined);
    rmSync(this.#base, { recursive: true, force: true });
    this.#forgetExitHook();
  }

  /** Synchronous, for the exit hook: SIGKILL to every node's group, directories removed. */
  #killAllNow(): void {
    for (const { child } of this.#processes.values()) {
      try {
        process.kill(-(child.pid as number), 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    this.#processes.clear();
    rmSync(this.#base, { recursive: true, force: true });
  }
}

async function amqpAnswers(url: string): Promise<boolean> {
  try {
    const connection = await amqplib.connect(url, { timeout: 2000 });
    await connection.close().catch(() => undefined);
    return true;
  } catch {
    return false;
  }
}
