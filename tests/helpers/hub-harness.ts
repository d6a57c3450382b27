/**
 * Runs proxyhub roles against the real broker and Redis on loopback, each test under its own
 * random prefix, and removes that prefix's queues and exchanges afterwards.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqplib from 'amqplib';
import { Redis } from 'ioredis';
import { queueFeatures, rpcQueueNames, createTopology } from '../../contracts/topology.ts';
import { createLogger } from '../../hub/log/logger.ts';
import { transportKinds } from '../../hub/bus/transport.ts';
import { parseRoles } from '../../hub/config/roles.ts';
import { configSchema, type Config, type ConfigInput } from '../../hub/config/schema.ts';
import { configToEnvironment } from '../../hub/config/settings.ts';
import { startHub, type RunningHub } from '../../cli/start.ts';
import { waitFor } from './wait-for.ts';

export const AMQP_URL = process.env.PROXYHUB_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
export const REDIS_URL = process.env.PROXYHUB_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));

/**
 * The transport the hub under test speaks: scripts/test.mjs runs the transport-parametrised
 * files once per transport with PROXYHUB_TEST_TRANSPORT=amqp10 the second time.
 */
export const TEST_TRANSPORT = transportKinds.find((kind) => kind === process.env.PROXYHUB_TEST_TRANSPORT) ?? 'amqp091';

/** Short retry tiers so that tests see several attempts in seconds, not minutes. */
export const TEST_RETRY_DELAYS_MS = [200, 400, 800, 1600];

/**
 * A port for a child hub that must keep it across restarts (port 0 would give a restarted child
 * a new one). Drawn below the kernel's ephemeral range: a random port inside it collided with
 * the outgoing connections of other tests running at the same time (EADDRINUSE).
 */
export function fixedTestPort(): number {
  let ephemeralLow = 32768;
  try {
    ephemeralLow = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || ephemeralLow;
  } catch {
    // Not Linux: the IANA range starts higher still.
  }
  const low = 10_000;
  return low + Math.floor(Math.random() * Math.max(1000, ephemeralLow - low));
}

export function testPrefix(): string {
  return `test-${randomUUID().slice(0, 8)}`;
}

export function testConfig(prefix: string, foremanUrl: string, overrides: Partial<ConfigInput> = {}): Config {
  return configSchema.parse({
    amqpUrl: AMQP_URL,
    transport: TEST_TRANSPORT,
    redisUrl: REDIS_URL,
    prefix,
    proxyName: 'proxyhub.test',
    foreman: { url: foremanUrl, timeoutMs: 5000 },
    ingress: { host: '127.0.0.1', port: 0 },
    control: { host: '127.0.0.1', port: 0 },
    // Most tests drive the control routes as Foreman would without listing a trusted host; the
    // tests of trusted_hosts itself turn this off (tests/integration/trusted-hosts.test.ts).
    devOpenControl: true,
    // Most tests upload over a plain loopback ingress without certificates; the tests of client
    // identity turn this off (tests/integration/anonymous-uploads.test.ts) or use TLS.
    devAnonymousUploads: true,
    logLevel: process.env.PROXYHUB_TEST_LOG ?? 'silent',
    // Per test: the rex worker makes its SSH key pair and known_hosts here.
    dataDir: join(tmpdir(), `proxyhub-${prefix}`),
    worker: { retryDelaysMs: TEST_RETRY_DELAYS_MS, upstreamPauseMaxMs: 2000, shutdownGraceMs: 2000 },
    // One test client sends thousands of uploads from one address, and an in-process hub shares
    // its event loop with the test's own client (and its synchronous openssl calls): tests of
    // these limits set them.
    limits: { ratePerMinute: 0, maxEventLoopDelayMs: 0, maxEventLoopUtilization: 0 },
    // Hubs of parallel tests would collide on the default port: any free port, read from RunningHub.metricsUrl.
    observability: { metricsPort: 0 },
    ...overrides,
  });
}

export async function startTestHub(config: Config, roles = 'all'): Promise<RunningHub> {
  return startHub(config, parseRoles(roles), createLogger(config.logLevel));
}

/**
 * Environment for a hub run as a child process (what an operator's unit file would set): every
 * key of `config` as its variable, so that the child parses the same configuration. The variable
 * of a key the config leaves unset is dropped from the inherited environment as well.
 */
export function hubEnvironment(config: Config): NodeJS.ProcessEnv {
  const variables = configToEnvironment(config);
  const inherited = Object.entries(process.env).filter(([name]) => !(name in variables));
  const set = Object.entries(variables).filter((entry): entry is [string, string] => entry[1] !== undefined);
  // Whatever the test config says (usually silent), the child logs: spawnHub waits for its
  // "proxyhub started" line.
  return { ...Object.fromEntries([...inherited, ...set]), PROXYHUB_LOG_LEVEL: process.env.PROXYHUB_TEST_LOG ?? 'info' };
}

/**
 * The environment of a `proxyhub` child process (every child a test starts must use it). Children
 * record no coverage: they compile the TypeScript with tsx, the test processes with esbuild
 * (scripts/test-loader/), and the coverage report merges
 * every process's byte ranges by file and keeps one process's source map per file (whichever
 * coverage file it reads last, in directory order). Mixed, a file's ranges no longer fit its
 * map and the report silently drops or garbles it: the runs that "lost two thirds of the files".
 */
export function childEnvironment(config: Config, extraEnv: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { ...hubEnvironment(config), ...extraEnv, _TAPJS_PROCESSINFO_COVERAGE_: '0' };
}

export interface ChildHub {
  readonly process: ChildProcess;
  readonly output: string[];
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Starts `proxyhub start --role <roles>` as a separate process and waits until it runs, for up to
 * `startTimeoutMs`: by default a little past the process's own start deadline, so that a start
 * that hangs ends with the process naming the step it waited for. At the parallel suite's outset
 * (eight test files booting hubs, the type-check beside them, on two cores) a worker has taken
 * over 30 s to declare its topology.
 */
export async function spawnHub(config: Config, roles: string, extraEnv: NodeJS.ProcessEnv = {}, startTimeoutMs = config.startTimeoutMs + 5000): Promise<ChildHub> {
  const child = spawn(process.execPath, ['bin/proxyhub.mjs', 'start', '--role', roles], { cwd: REPO_ROOT, env: childEnvironment(config, extraEnv), stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  child.stdout?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await waitFor(() => output.join('').includes('proxyhub started') || child.exitCode !== null, { timeoutMs: startTimeoutMs, what: `proxyhub ${roles} to start` }).catch((error: unknown) => {
    // Nobody else holds this child yet: left running it would outlive the test (and its consumers the leak check).
    child.kill('SIGKILL');
    // What it logged says where it was stuck.
    throw new Error(`${(error as Error).message}; its output ends: ${output.join('').slice(-3000)}`, { cause: error });
  });
  if (child.exitCode !== null) throw new Error(`proxyhub ${roles} exited: ${output.join('')}`);
  return {
    process: child,
    output,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** A confirm channel: a test that publishes awaits `waitForConfirms()` before the connection closes. */
export async function withChannel<T>(fn: (channel: amqplib.ConfirmChannel) => Promise<T>, url = AMQP_URL): Promise<T> {
  const connection = await amqplib.connect(url);
  try {
    const channel = await connection.createConfirmChannel();
    channel.on('error', () => undefined);
    return await fn(channel);
  } finally {
    await connection.close().catch(() => undefined);
  }
}

export async function queueDepth(queue: string): Promise<number> {
  return withChannel(async (channel) => (await channel.checkQueue(queue)).messageCount);
}

export async function consumerCount(queue: string): Promise<number> {
  return withChannel(async (channel) => (await channel.checkQueue(queue)).consumerCount);
}

/** Removes every queue and exchange a test prefix created (on the machine's broker unless `url` names another). */
export async function deleteTopology(prefix: string, retryDelaysMs: readonly number[] = TEST_RETRY_DELAYS_MS, url = AMQP_URL): Promise<void> {
  const topology = createTopology(prefix);
  await withChannel(async (channel) => {
    for (const feature of queueFeatures) {
      for (const queue of [topology.workQueue(feature), topology.deadLetterQueue(feature), ...retryDelaysMs.map((d) => topology.retryQueue(feature, d))]) {
        await channel.deleteQueue(queue);
      }
    }
    for (const feature of rpcQueueNames) await channel.deleteQueue(topology.rpcQueue(feature));
    await channel.deleteQueue(topology.capabilitiesStream);
    for (const exchange of [topology.eventsExchange, topology.outcomesExchange, topology.deadLetterExchange, topology.capabilitiesExchange, topology.rpcExchange, ...queueFeatures.map((f) => topology.retryExchange(f))]) await channel.deleteExchange(exchange);
  }, url);
  await deleteRedisKeys(prefix);
  rmSync(join(tmpdir(), `proxyhub-${prefix}`), { recursive: true, force: true });
}

/** Removes every Redis key under a test prefix (BullMQ queues, REX markers, dedup records). */
export async function deleteRedisKeys(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
