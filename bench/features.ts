/**
 * `npm run bench -- features`: how fast the control listener answers Foreman's capability poll,
 * `GET /v2/features`, over HTTPS with Foreman's client certificate checked against trusted_hosts,
 * from 32 keep-alive clients (issue 12: at least 20 × the smart-proxy's 585 req/s). Measured in
 * the same run beside its limit on this machine: an HTTPS server that asks for a client
 * certificate too and answers the very same bytes without looking at anything (static-tls).
 * One `--role worker:reports` process runs, so the answer lists a running feature as in use.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request as httpsRequest } from 'node:https';
import { createTestPki } from '../tests/helpers/pki.ts';
import { removeBenchTopology } from './lib/broker.ts';
import { runLoad, type LoadResult } from './lib/load.ts';
import { machineInfo } from './lib/machine.ts';
import { createPhaseLog } from './lib/phase-log.ts';
import { machineBusyOver, watchProcesses } from './lib/proc-stats.ts';
import { writeResultFiles } from './lib/report.ts';
import { startHubControlTls, startHubWorker, startStaticTlsServer, startTestForeman, type ServerProcess } from './lib/servers.ts';
import { renderBars } from './lib/svg-bars.ts';
import type { BenchOptions, MachineInfo } from './lib/types.ts';
import { benchPrefix } from './lib/prefix.ts';

const FOREMAN_CN = 'foreman.example.com';
/** smart_proxy's `GET /v2/features` on this kind of machine at 32 clients (issue 12). */
const SMART_PROXY_REQ_PER_SEC = 585;
const TARGET_FACTOR = 20;
const MiB = 2 ** 20;

interface FeaturesScenario {
  readonly scenario: 'static-tls' | 'hub';
  readonly rate: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly rssPeakMiB: number | null;
  readonly cpuServerPercent: number | null;
  readonly cpuClientPercent: number;
  readonly machineBusyPercent: number;
  readonly non200: number;
  readonly errors: number;
}

export interface FeaturesBenchResults {
  readonly date: string;
  readonly machine: MachineInfo;
  readonly settings: { readonly connections: number; readonly warmupSec: number; readonly durationSec: number; readonly bodyBytes: number; readonly machineBusyBeforePercent: number };
  readonly scenarios: readonly FeaturesScenario[];
  readonly smartProxyReqPerSec: number;
  readonly target: number;
}

/** `GET url` with the client certificate: the body, once the answer is 200. */
function getWithCertificate(url: string, files: { ca: string; cert: string; key: string }): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    Promise.all([readFile(files.ca), readFile(files.cert), readFile(files.key)]).then(([ca, cert, key]) => {
      const call = httpsRequest(url, { ca, cert, key }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks) }));
      });
      call.on('error', reject);
      call.end();
    }, reject);
  });
}

async function measure(scenario: FeaturesScenario['scenario'], server: ServerProcess, url: string, tls: { caFile: string; certFile: string; keyFile: string }, options: BenchOptions): Promise<FeaturesScenario> {
  let watch: ReturnType<typeof watchProcesses> | undefined;
  const load: LoadResult = await runLoad({ url, method: 'GET', headers: {}, okStatus: 200, tls, connections: options.connections, warmupSec: options.warmupSec, durationSec: options.durationSec }, (clientPid) => {
    watch = watchProcesses({ server: server.pid, client: clientPid });
  });
  const report = watch?.stop();
  const rss = report?.peakRssBytes.server;
  return {
    scenario,
    rate: load.accepted / load.durationSec,
    p50Ms: load.p50Ms,
    p99Ms: load.p99Ms,
    rssPeakMiB: rss === undefined ? null : rss / MiB,
    cpuServerPercent: report?.cpuPercent.server ?? null,
    cpuClientPercent: load.clientCpuPercent,
    machineBusyPercent: report?.machineBusyPercent ?? 0,
    non200: Object.entries(load.statusCodes).filter(([code]) => code !== '200').reduce((sum, [, count]) => sum + count, 0),
    errors: load.errors + load.timeouts,
  };
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

function renderMarkdown(results: FeaturesBenchResults): string {
  const m = results.machine;
  const s = results.settings;
  const hub = results.scenarios.find((x) => x.scenario === 'hub');
  const limit = results.scenarios.find((x) => x.scenario === 'static-tls');
  const lines = [
    `## Capability poll benchmark (${results.date})`,
    '',
    `${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB; ${m.os}; Node ${m.node}; RabbitMQ ${m.rabbitmq ?? '?'}. Load: autocannon, ${s.connections} keep-alive HTTPS connections with Foreman's client certificate, no pipelining, ${s.warmupSec} s warm-up + ${s.durationSec} s measured; answer ${s.bodyBytes} B of JSON. Client, server and broker share the machine (${s.machineBusyBeforePercent.toFixed(0)} % busy before the run).`,
    '',
    '| scenario | req/s | p50 ms | p99 ms | RSS MiB | CPU server | CPU client | machine busy | non-200 | errors |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...results.scenarios.map((x) => `| ${x.scenario} | ${fmt(x.rate)} | ${x.p50Ms} | ${x.p99Ms} | ${x.rssPeakMiB === null ? '—' : x.rssPeakMiB.toFixed(0)} | ${x.cpuServerPercent === null ? '—' : `${x.cpuServerPercent.toFixed(0)} %`} | ${x.cpuClientPercent.toFixed(0)} % | ${x.machineBusyPercent.toFixed(0)} % | ${x.non200} | ${x.errors} |`),
    `| smart-proxy (reference) | ${fmt(results.smartProxyReqPerSec)} | — | — | — | — | — | — | — | — |`,
    `| target (${TARGET_FACTOR} × smart-proxy) | ${fmt(results.target)} | — | — | — | — | — | — | — | — |`,
    '',
    'Notes:',
    "- hub: `proxyhub start --role control` (compiled build, launch flags of `npm start`) with TLS, `PROXYHUB_TRUSTED_HOSTS` naming Foreman's certificate, rate limit off (Foreman is one identity); `GET /v2/features` runs the identity, trusted_hosts and admission checks on every request. static-tls: `node:https` asking for a client certificate and answering the same bytes, prepared once: what HTTPS with this client costs on this machine, the limit for any server.",
    "- smart-proxy: the issue's figure for smart_proxy's `/v2/features` at 32 clients on this kind of machine; it is not measured in this run (the smart-proxy's Ruby gems cannot be installed here: the machine reaches only npm and Debian's packages).",
    '- CPU is % of one core over the measured window (200 % = both cores); machine busy is % of all cores.',
    hub && limit ? `- hub: ${(hub.rate / limit.rate).toFixed(2)} × static-tls, ${(hub.rate / results.smartProxyReqPerSec).toFixed(1)} × the smart-proxy; target ≥ ${fmt(results.target)} req/s: ${hub.rate >= results.target ? 'met' : '**not met**'}.` : '',
  ];
  return `${lines.join('\n')}\n`;
}

function renderChart(results: FeaturesBenchResults): string {
  const bars = [...results.scenarios.map((x) => ({ label: x.scenario, value: x.rate, color: x.scenario === 'hub' ? '#2980b9' : '#95a5a6' })), { label: 'smart-proxy', value: results.smartProxyReqPerSec, color: '#c0392b' }];
  return renderBars(`GET /v2/features over mTLS, ${results.settings.connections} clients (${results.date.slice(0, 10)})`, bars, [{ value: results.target, label: `target ${TARGET_FACTOR} × smart-proxy = ${fmt(results.target)}/s`, color: '#c0392b' }]);
}

export async function runFeaturesBench(options: BenchOptions): Promise<void> {
  const log = createPhaseLog();
  const prefix = benchPrefix();
  const dir = await mkdtemp(join(tmpdir(), 'proxyhub-features-bench-'));
  const pki = createTestPki();
  const foremanCert = pki.client(FOREMAN_CN);
  const files = { cert: pki.server.cert, key: pki.server.key, ca: pki.caCert };
  const clientTls = { caFile: pki.caCert, certFile: foremanCert.cert, keyFile: foremanCert.key };
  const servers: ServerProcess[] = [];
  try {
    log('starting a stand-in Foreman, the control role over HTTPS and one reports worker');
    const foreman = await startTestForeman();
    servers.push(foreman);
    const common = { PROXYHUB_FOREMAN_URL: foreman.url, PROXYHUB_TRUSTED_HOSTS: FOREMAN_CN, PROXYHUB_REDIS_URL: process.env.PROXYHUB_REDIS_URL ?? 'redis://127.0.0.1:6379' };
    const control = await startHubControlTls(prefix, options.amqpUrl, files, common);
    servers.push(control);
    const url = `${control.url}/v2/features`;
    const reportsRunning = async (): Promise<boolean> => {
      const answer = await getWithCertificate(url, { ca: files.ca, cert: foremanCert.cert, key: foremanCert.key }).catch(() => undefined);
      return answer?.status === 200 && (JSON.parse(answer.body.toString()) as Record<string, { state?: string }>).reports?.state === 'running';
    };
    servers.push(await startHubWorker('worker:reports', prefix, options.amqpUrl, common, reportsRunning));
    const body = (await getWithCertificate(url, { ca: files.ca, cert: foremanCert.cert, key: foremanCert.key })).body;
    const bodyFile = join(dir, 'v2-features.json');
    await writeFile(bodyFile, body);
    const staticServer = await startStaticTlsServer(files, bodyFile);
    servers.push(staticServer);
    const machineBusyBeforePercent = await machineBusyOver(1000);
    log(`static-tls: ${options.connections} clients, ${options.warmupSec} s + ${options.durationSec} s`);
    const limit = await measure('static-tls', staticServer, staticServer.url, clientTls, options);
    log(`hub: ${options.connections} clients, ${options.warmupSec} s + ${options.durationSec} s`);
    const hub = await measure('hub', control, url, clientTls, options);
    const results: FeaturesBenchResults = {
      date: new Date().toISOString(),
      machine: await machineInfo(options.amqpUrl),
      settings: { connections: options.connections, warmupSec: options.warmupSec, durationSec: options.durationSec, bodyBytes: body.length, machineBusyBeforePercent },
      scenarios: [limit, hub],
      smartProxyReqPerSec: SMART_PROXY_REQ_PER_SEC,
      target: SMART_PROXY_REQ_PER_SEC * TARGET_FACTOR,
    };
    const written = await writeResultFiles('features', results, renderMarkdown(results), renderChart(results));
    process.stdout.write(written.markdown);
    log(`wrote ${written.files.join(', ')}`);
  } finally {
    for (const server of servers.reverse()) await server.stop();
    await removeBenchTopology(options.amqpUrl, prefix).catch(() => undefined);
    pki.remove();
    await rm(dir, { recursive: true, force: true });
  }
}
