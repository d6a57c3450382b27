/** The servers under test, each in its own process: the no-op and naive HTTP servers, the hub's roles and the test Foreman. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface ServerProcess {
  readonly pid: number;
  readonly url: string;
  /** What the process wrote, for the error message when it misbehaves. */
  readonly output: () => string;
  stop(): Promise<void>;
}

/**
 * Any free port for every worker process's metrics port, a supervised hub's (`--role all`)
 * children included: the defaults (9464 and up) collide with another hub on the machine
 * (EADDRINUSE). A bench that reads a worker's metrics sets its own ports instead (soak).
 */
export const ANY_METRICS_PORT = { PROXYHUB_METRICS_PORT: '0' } as const;

/**
 * Settings for an A/B run by hand, given as JSON in BENCH_HUB_SETTINGS (e.g.
 * `{"PROXYHUB_DELIVERY_NICENESS":"0"}`): applied last to every hub a benchmark that honours it
 * starts, except the settings it fixes for what it measures (`measuredHubSettings`).
 */
export function settingsFromEnvironment(): Record<string, string> {
  return process.env.BENCH_HUB_SETTINGS ? (JSON.parse(process.env.BENCH_HUB_SETTINGS) as Record<string, string>) : {};
}

/**
 * BENCH_HUB_SETTINGS plus the settings a benchmark fixes for what it measures (the transport, one
 * process whose pid it reads, shedding on): an A/B that would change one of those is refused
 * with the reason, never silently overridden.
 */
export function measuredHubSettings(fixed: Readonly<Record<string, string>>): Record<string, string> {
  const given = settingsFromEnvironment();
  const clashes = Object.keys(fixed).filter((key) => key in given && given[key] !== fixed[key]);
  if (clashes.length > 0) {
    throw new Error(`BENCH_HUB_SETTINGS may not set ${clashes.join(', ')} here: this benchmark measures with ${clashes.map((key) => `${key}=${fixed[key]}`).join(', ')}`);
  }
  return { ...given, ...fixed };
}

/** `proxyhub start --role ingress` as the ingress benchmarks measure it: one process, whose pid they read, over `transport`. */
export function measuredIngressSettings(transport: string): Record<string, string> {
  return measuredHubSettings({ PROXYHUB_TRANSPORT: transport, PROXYHUB_INGRESS_PROCESSES: '1' });
}

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  if (typeof address !== 'object' || address === null) throw new Error('could not find a free port');
  return address.port;
}

export function track(child: ChildProcess, url: string): ServerProcess {
  const output: string[] = [];
  child.stdout?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  // 'close', not 'exit': the last lines a process prints on its way out are read by then.
  const exited = once(child, 'close');
  return {
    pid: child.pid ?? 0,
    url,
    output: () => output.join(''),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      // The hub drains in-flight publishes on SIGTERM; anything slower than this is stuck.
      const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(killer);
    },
  };
}

/** Polls `ready` until it holds; fails early if the process exits. */
export async function waitReady(server: ServerProcess, child: ChildProcess, what: string, ready: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}:\n${server.output()}`);
    if (await ready().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await server.stop();
  throw new Error(`${what} not within ${timeoutMs} ms:\n${server.output()}`);
}

const waitHealthy = (server: ServerProcess, child: ChildProcess, url: string): Promise<void> =>
  waitReady(server, child, `${url} answering 200`, () => fetch(url).then((r) => r.status === 200, () => false));

export async function startNoopServer(): Promise<ServerProcess> {
  const port = await freePort();
  const script = fileURLToPath(new URL('../noop-server.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script, String(port)], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const server = track(child, `http://127.0.0.1:${port}`);
  await waitHealthy(server, child, `${server.url}/healthz`);
  return server;
}

/**
 * The naive ingress (bench/naive-ingress-server.ts) publishing to `eventsExchange`, which the
 * caller declared. It runs as plain JavaScript, transpiled by the project's TypeScript into
 * node_modules/.cache (where `amqplib` resolves), as the hub runs its compiled build: under
 * tsx its RSS would include the loader thread.
 */
export async function startNaiveIngress(amqpUrl: string, eventsExchange: string): Promise<ServerProcess> {
  const source = readFileSync(fileURLToPath(new URL('../naive-ingress-server.ts', import.meta.url)), 'utf8');
  const { outputText } = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } });
  const cacheDir = `${REPO_ROOT}node_modules/.cache/proxyhub-bench`;
  mkdirSync(cacheDir, { recursive: true });
  const script = `${cacheDir}/naive-ingress-server.mjs`;
  writeFileSync(script, outputText);
  const port = await freePort();
  const child = spawn(process.execPath, [script, String(port), amqpUrl, eventsExchange], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const server = track(child, `http://127.0.0.1:${port}`);
  await waitHealthy(server, child, `${server.url}/healthz`);
  return server;
}

/**
 * `proxyhub start --role <role>` exactly as an operator runs it, under a throw-away prefix, with
 * the launch flags `npm start` and the container use (package.json "proxyhub.nodeFlags").
 */
function spawnHub(role: string, prefix: string, amqpUrl: string, settings: Readonly<Record<string, string>>): ChildProcess {
  // Only our settings: an operator's PROXYHUB_FOREMAN_* or PROXYHUB_CONFIG would change the run.
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('PROXYHUB_')));
  const env = {
    ...inherited,
    PROXYHUB_PREFIX: prefix,
    PROXYHUB_AMQP_URL: amqpUrl,
    PROXYHUB_LOG_LEVEL: 'warn',
    // One load generator is one client identity: per-client rate limiting would measure itself.
    PROXYHUB_RATE_LIMIT_PER_MINUTE: '0',
    // The benchmark plays Foreman on a loopback control listener without a trusted host list.
    PROXYHUB_DEV_OPEN_CONTROL: '1',
    // Plain-HTTP benchmark clients carry no certificate (the TLS runs set their own identity).
    PROXYHUB_DEV_ANONYMOUS_UPLOADS: '1',
    ...ANY_METRICS_PORT,
    ...settings,
  };
  const packageJson = JSON.parse(readFileSync(`${REPO_ROOT}package.json`, 'utf8')) as { proxyhub?: { nodeFlags?: string[] } };
  const nodeFlags = packageJson.proxyhub?.nodeFlags ?? [];
  return spawn(process.execPath, [...nodeFlags, 'bin/proxyhub.mjs', 'start', '--role', role], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** The hub's ingress, ready once `GET /healthz` answers 200. `settings` are more PROXYHUB_* variables. */
export async function startHubIngress(prefix: string, amqpUrl: string, settings: Readonly<Record<string, string>> = {}): Promise<ServerProcess> {
  const port = await freePort();
  const child = spawnHub('ingress', prefix, amqpUrl, { PROXYHUB_INGRESS_PORT: String(port), ...settings });
  const server = track(child, `http://127.0.0.1:${port}`);
  await waitHealthy(server, child, `${server.url}/healthz`);
  return server;
}

/** PEM files for the hub's HTTPS listener: its certificate and key, and the CA clients' certificates chain to. */
export interface HubTlsFiles {
  readonly cert: string;
  readonly key: string;
  readonly ca: string;
}

/** `GET url` over HTTPS trusting `ca`, without a client certificate: true on a 200. */
export function httpsAnswers200(url: string, ca: Buffer): Promise<boolean> {
  return new Promise((resolve) => {
    const request = httpsGet(url, { ca }, (response) => {
      response.resume();
      resolve(response.statusCode === 200);
    });
    request.on('error', () => resolve(false));
    request.setTimeout(2000, () => request.destroy());
  });
}

/**
 * The hub's ingress over HTTPS, asking for client certificates issued by `tls.ca` (the
 * smart-proxy's setting); ready once `GET /healthz`, which needs no certificate, answers 200.
 */
export function startHubIngressTls(prefix: string, amqpUrl: string, tls: HubTlsFiles, settings: Readonly<Record<string, string>> = {}): Promise<ServerProcess> {
  return startHubTls('ingress', prefix, amqpUrl, tls, settings);
}

/** Like startHubIngressTls, for any role list that includes the ingress (`all`: the co-located hub). */
export async function startHubTls(role: string, prefix: string, amqpUrl: string, tls: HubTlsFiles, settings: Readonly<Record<string, string>> = {}): Promise<ServerProcess> {
  const port = await freePort();
  const child = spawnHub(role, prefix, amqpUrl, { PROXYHUB_INGRESS_PORT: String(port), PROXYHUB_TLS_CERT: tls.cert, PROXYHUB_TLS_KEY: tls.key, PROXYHUB_TLS_CA: tls.ca, ...settings });
  const server = track(child, `https://127.0.0.1:${port}`);
  const ca = readFileSync(tls.ca);
  await waitReady(server, child, `${server.url}/healthz answering 200`, () => httpsAnswers200(`${server.url}/healthz`, ca));
  return server;
}

/**
 * A worker role (no listener of its own), ready once `ready` holds: at the default log level
 * `warn` it never prints `proxyhub started`, so the caller checks what that line would announce.
 */
export async function startHubWorker(role: string, prefix: string, amqpUrl: string, settings: Readonly<Record<string, string>>, ready: () => Promise<boolean>): Promise<ServerProcess> {
  const child = spawnHub(role, prefix, amqpUrl, settings);
  const server = track(child, '');
  await waitReady(server, child, `${role} ready`, ready);
  return server;
}

/** The stand-in Foreman (bench/foreman-server.ts, with its `args`) in its own process; ready once it printed its URL. */
export async function startTestForeman(args: readonly string[] = []): Promise<ServerProcess> {
  const script = fileURLToPath(new URL('../foreman-server.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const server = track(child, '');
  const listening = (): string | undefined => /^listening (\S+)$/m.exec(server.output())?.[1];
  await waitReady(server, child, 'test Foreman listening', async () => listening() !== undefined);
  return { ...server, url: listening() ?? '' };
}

/** The hub's control role, ready once `GET /healthz` answers 200 (after its capability replay). */
export async function startHubControl(prefix: string, amqpUrl: string, settings: Readonly<Record<string, string>> = {}): Promise<ServerProcess> {
  const port = await freePort();
  const child = spawnHub('control', prefix, amqpUrl, { PROXYHUB_CONTROL_PORT: String(port), ...settings });
  const server = track(child, `http://127.0.0.1:${port}`);
  await waitHealthy(server, child, `${server.url}/healthz`);
  return server;
}

/** The control role over HTTPS with client certificates (`tls.ca`), ready once `/healthz` answers 200. */
export async function startHubControlTls(prefix: string, amqpUrl: string, tls: HubTlsFiles, settings: Readonly<Record<string, string>> = {}): Promise<ServerProcess> {
  const port = await freePort();
  const child = spawnHub('control', prefix, amqpUrl, { PROXYHUB_CONTROL_PORT: String(port), PROXYHUB_TLS_CERT: tls.cert, PROXYHUB_TLS_KEY: tls.key, PROXYHUB_TLS_CA: tls.ca, ...settings });
  const server = track(child, `https://127.0.0.1:${port}`);
  const ca = readFileSync(tls.ca);
  await waitReady(server, child, `${server.url}/healthz answering 200`, () => httpsAnswers200(`${server.url}/healthz`, ca));
  return server;
}

/**
 * bench/static-tls-server.ts: HTTPS asking for client certificates, answering `bodyFile` to every
 * request, or with `'--refusal'` the hub's load-shedding 503 to every POST.
 */
export async function startStaticTlsServer(tls: HubTlsFiles, bodyFile: string): Promise<ServerProcess> {
  const port = await freePort();
  const script = fileURLToPath(new URL('../static-tls-server.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script, String(port), tls.cert, tls.key, tls.ca, bodyFile], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const server = track(child, `https://127.0.0.1:${port}`);
  const ca = readFileSync(tls.ca);
  await waitReady(server, child, `${server.url} answering 200`, () => httpsAnswers200(server.url, ca));
  return server;
}

/** Sends `signal` to a server process (for SIGKILL or timing a SIGTERM), without waiting. */
export function signalServer(server: ServerProcess, signal: NodeJS.Signals): void {
  process.kill(server.pid, signal);
}
