/**
 * `npm run bench -- container-gateway`: manifest pulls through the hub against the registry
 * directly, in the same run (issue 13). Debian's `docker-registry` on loopback holds a small OCI
 * image pushed with `skopeo`; the hub runs as an operator splits it (`--role ingress`,
 * `--role control`, `--role worker:container_gateway`, one process each), the repository list
 * pushed to the control listener form-encoded as Katello pushes it, the repository open to
 * anonymous pulls. Both scenarios: `GET /v2/<repo>/manifests/<tag>` with the OCI manifest type in
 * `Accept`, 32 keep-alive clients. Through the hub each pull is ingress → broker → worker →
 * registry and back (the manifest body rides the RPC reply; blobs never do).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildOciImage, requireContainerTools, SKOPEO, startDockerRegistry } from '../tests/helpers/docker-registry.ts';
import { KatelloStandIn } from '../tests/helpers/registry-stand-in.ts';
import { removeBenchTopology } from './lib/broker.ts';
import { runLoad, type LoadResult } from './lib/load.ts';
import { machineInfo } from './lib/machine.ts';
import { createPhaseLog } from './lib/phase-log.ts';
import { findBrokerPid, machineBusyOver, watchProcesses } from './lib/proc-stats.ts';
import { removePrefixKeys } from './lib/redis-keys.ts';
import { writeResultFiles } from './lib/report.ts';
import { startHubControl, startHubIngress, startHubWorker, type ServerProcess } from './lib/servers.ts';
import { renderBars } from './lib/svg-bars.ts';
import type { BenchOptions, MachineInfo } from './lib/types.ts';
import { benchPrefix } from './lib/prefix.ts';

const REPOSITORY = 'bench/hello';
const TAG = 'v1';
const ACCEPT = 'application/vnd.oci.image.manifest.v1+json';
const MiB = 2 ** 20;
const run = promisify(execFile);

interface GatewayScenario {
  readonly scenario: 'registry' | 'hub';
  readonly rate: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly cpuPercent: Readonly<Record<string, number>>;
  readonly rssPeakMiB: Readonly<Record<string, number>>;
  readonly machineBusyPercent: number;
  readonly non200: number;
  readonly errors: number;
}

export interface GatewayBenchResults {
  readonly date: string;
  readonly machine: MachineInfo;
  readonly settings: { readonly connections: number; readonly warmupSec: number; readonly durationSec: number; readonly manifestBytes: number; readonly machineBusyBeforePercent: number };
  readonly scenarios: readonly GatewayScenario[];
}

async function measure(scenario: GatewayScenario['scenario'], url: string, pids: Readonly<Record<string, number>>, options: BenchOptions): Promise<GatewayScenario> {
  let watch: ReturnType<typeof watchProcesses> | undefined;
  const load: LoadResult = await runLoad({ url, method: 'GET', headers: { accept: ACCEPT }, okStatus: 200, connections: options.connections, warmupSec: options.warmupSec, durationSec: options.durationSec }, (clientPid) => {
    watch = watchProcesses({ ...pids, client: clientPid });
  });
  const report = watch?.stop();
  return {
    scenario,
    rate: load.accepted / load.durationSec,
    p50Ms: load.p50Ms,
    p99Ms: load.p99Ms,
    cpuPercent: report?.cpuPercent ?? {},
    rssPeakMiB: Object.fromEntries(Object.entries(report?.peakRssBytes ?? {}).map(([role, bytes]) => [role, bytes / MiB])),
    machineBusyPercent: report?.machineBusyPercent ?? 0,
    non200: Object.entries(load.statusCodes).filter(([code]) => code !== '200').reduce((sum, [, count]) => sum + count, 0),
    errors: load.errors + load.timeouts,
  };
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const cpuCell = (x: GatewayScenario): string =>
  Object.entries(x.cpuPercent)
    .map(([role, percent]) => `${role} ${percent.toFixed(0)} %`)
    .join(', ');

function renderMarkdown(results: GatewayBenchResults): string {
  const m = results.machine;
  const s = results.settings;
  const direct = results.scenarios.find((x) => x.scenario === 'registry');
  const hub = results.scenarios.find((x) => x.scenario === 'hub');
  const lines = [
    `## Container gateway benchmark (${results.date})`,
    '',
    `${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB; ${m.os}; Node ${m.node}; RabbitMQ ${m.rabbitmq ?? '?'}. Load: autocannon, ${s.connections} keep-alive connections, no pipelining, ${s.warmupSec} s warm-up + ${s.durationSec} s measured; \`GET /v2/${REPOSITORY}/manifests/${TAG}\` (Accept: ${ACCEPT}), ${s.manifestBytes} B manifest. Registry, hub, broker, Redis and client share the machine (${s.machineBusyBeforePercent.toFixed(0)} % busy before the run).`,
    '',
    '| scenario | pulls/s | p50 ms | p99 ms | CPU (% of a core) | machine busy | non-200 | errors |',
    '|---|---:|---:|---:|---|---:|---:|---:|',
    ...results.scenarios.map((x) => `| ${x.scenario === 'hub' ? 'through the hub' : 'registry directly'} | ${fmt(x.rate)} | ${x.p50Ms} | ${x.p99Ms} | ${cpuCell(x)} | ${x.machineBusyPercent.toFixed(0)} % | ${x.non200} | ${x.errors} |`),
    '',
    'Notes:',
    "- registry directly: Debian's `docker-registry` (distribution 2.8) over plain HTTP on loopback. through the hub: the same pull at the hub's ingress (plain HTTP on loopback, anonymous repository), answered over RabbitMQ by `worker:container_gateway`, which asks the registry; each process runs `proxyhub start` with the launch flags of `npm start`.",
    '- CPU per process over the measured window (200 % = both cores); machine busy is % of all cores.',
    hub && direct ? `- through the hub: ${(hub.rate / direct.rate).toFixed(2)} × the registry's own rate; the hub adds ${(hub.p50Ms - direct.p50Ms).toFixed(0)} ms at the median.` : '',
  ];
  return `${lines.join('\n')}\n`;
}

function renderChart(results: GatewayBenchResults): string {
  const bars = results.scenarios.map((x) => ({ label: x.scenario === 'hub' ? 'through the hub' : 'registry directly', value: x.rate, color: x.scenario === 'hub' ? '#2980b9' : '#95a5a6' }));
  return renderBars(`Manifest pulls/s, ${results.settings.connections} clients (${results.date.slice(0, 10)})`, bars);
}

export async function runContainerGatewayBench(options: BenchOptions): Promise<void> {
  requireContainerTools();
  const log = createPhaseLog();
  const prefix = benchPrefix();
  const redisUrl = process.env.PROXYHUB_REDIS_URL ?? 'redis://127.0.0.1:6379';
  const work = await mkdtemp(join(tmpdir(), 'proxyhub-gateway-bench-'));
  const servers: ServerProcess[] = [];
  const registry = await startDockerRegistry();
  const katello = new KatelloStandIn();
  await katello.start();
  try {
    log(`registry at ${registry.url}; pushing a small OCI image to ${REPOSITORY}:${TAG} with skopeo`);
    const policy = join(work, 'policy.json');
    await writeFile(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
    const image = buildOciImage(join(work, 'image'), TAG, 'hello from the proxyhub benchmark\n');
    await run(SKOPEO, ['--policy', policy, 'copy', `oci:${image.dir}:${TAG}`, `docker://127.0.0.1:${registry.port}/${REPOSITORY}:${TAG}`, '--dest-tls-verify=false'], { env: { ...process.env, HOME: work, TMPDIR: work } });
    const direct = `${registry.url}/v2/${REPOSITORY}/manifests/${TAG}`;
    const manifest = await fetch(direct, { headers: { accept: ACCEPT } });
    const manifestBytes = (await manifest.arrayBuffer()).byteLength;
    if (manifest.status !== 200) throw new Error(`the registry answered the manifest with ${manifest.status}`);

    log('starting the hub: ingress, control and worker:container_gateway, one process each');
    const common = { PROXYHUB_FOREMAN_URL: katello.url, PROXYHUB_REDIS_URL: redisUrl };
    const ingress = await startHubIngress(prefix, options.amqpUrl);
    servers.push(ingress);
    const control = await startHubControl(prefix, options.amqpUrl, common);
    servers.push(control);
    const pushed = await fetch(`${control.url}/container_gateway/repository_list`, { method: 'PUT', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams([['repositories[][repository]', REPOSITORY], ['repositories[][auth_required]', 'false']]).toString() });
    if (pushed.status !== 200) throw new Error(`the repository list push answered ${pushed.status}: ${await pushed.text()}`);
    const throughHub = `${ingress.url}/v2/${REPOSITORY}/manifests/${TAG}`;
    const worker = await startHubWorker('worker:container_gateway', prefix, options.amqpUrl, { ...common, PROXYHUB_CONTAINER_REGISTRY_URL: registry.url, PROXYHUB_CONTAINER_CLIENT_ENDPOINT: registry.url }, async () => (await fetch(throughHub, { headers: { accept: ACCEPT } }).then((r) => r.status, () => 0)) === 200);
    servers.push(worker);

    const machineBusyBeforePercent = await machineBusyOver(1000);
    log(`registry directly: ${options.connections} clients, ${options.warmupSec} s + ${options.durationSec} s`);
    const registryPid = registry.pid;
    const directResult = await measure('registry', direct, registryPid === undefined ? {} : { registry: registryPid }, options);
    log(`through the hub: ${options.connections} clients, ${options.warmupSec} s + ${options.durationSec} s`);
    const brokerPid = findBrokerPid();
    const hubResult = await measure('hub', throughHub, { ingress: ingress.pid, worker: worker.pid, ...(brokerPid === null ? {} : { broker: brokerPid }), ...(registryPid === undefined ? {} : { registry: registryPid }) }, options);
    const results: GatewayBenchResults = {
      date: new Date().toISOString(),
      machine: await machineInfo(options.amqpUrl),
      settings: { connections: options.connections, warmupSec: options.warmupSec, durationSec: options.durationSec, manifestBytes, machineBusyBeforePercent },
      scenarios: [directResult, hubResult],
    };
    const written = await writeResultFiles('container-gateway', results, renderMarkdown(results), renderChart(results));
    process.stdout.write(written.markdown);
    log(`wrote ${written.files.join(', ')}`);
  } finally {
    for (const server of servers.reverse()) await server.stop();
    await katello.stop();
    await registry.stop();
    await removeBenchTopology(options.amqpUrl, prefix).catch(() => undefined);
    await removePrefixKeys(redisUrl, prefix).catch(() => undefined);
    await rm(work, { recursive: true, force: true });
  }
}
