/**
 * `npm run bench -- rhsm`: package profile uploads accepted by the hub against a synchronous
 * passthrough, in the same run (issue 14). Katello is the test Foreman's `/rhsm`
 * (tests/helpers/katello-rhsm.ts) taking 500 ms per profile, as its inline applicability
 * regeneration does. Passthrough: each `PUT /rhsm/consumers/:uuid/profiles` goes straight to it
 * with the host's certificate in `X-RHSM-SSL-CLIENT-CERT`, what a content proxy's Apache does, and
 * the client waits for Katello. Through the hub (`--role ingress` and `--role worker:rhsm`, one
 * process each): the same upload over mTLS with the host's certificate, answered 202 once the
 * broker confirmed; the worker delivers the newest upload of each host afterwards. Four hosts
 * (one load client and certificate each), the connections shared among them.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTopology } from '../contracts/topology.ts';
import { createTestPki } from '../tests/helpers/pki.ts';
import { TestForeman } from '../tests/helpers/test-foreman.ts';
import { queueDepth, removeBenchTopology } from './lib/broker.ts';
import { runLoad, type LoadResult, type LoadSpec } from './lib/load.ts';
import { machineInfo } from './lib/machine.ts';
import { createPhaseLog } from './lib/phase-log.ts';
import { findBrokerPid, machineBusyOver, watchProcesses } from './lib/proc-stats.ts';
import { removePrefixKeys } from './lib/redis-keys.ts';
import { writeResultFiles } from './lib/report.ts';
import { httpsAnswers200, startHubIngressTls, startHubWorker, type ServerProcess } from './lib/servers.ts';
import { renderBars } from './lib/svg-bars.ts';
import type { BenchOptions, MachineInfo } from './lib/types.ts';
import { benchPrefix } from './lib/prefix.ts';

const HOSTS = 4;
const PROFILE_DELAY_MS = 500;
const PACKAGES = 400;

interface RhsmScenario {
  readonly scenario: 'passthrough' | 'hub';
  readonly uploadsPerSec: number;
  readonly accepted: number;
  readonly p50Ms: number;
  /** The worst of the hosts' p99s. */
  readonly p99Ms: number;
  readonly cpuPercent: Readonly<Record<string, number>>;
  readonly machineBusyPercent: number;
  readonly other: number;
  readonly errors: number;
}

export interface RhsmBenchResults {
  readonly date: string;
  readonly machine: MachineInfo;
  readonly settings: { readonly connections: number; readonly hosts: number; readonly warmupSec: number; readonly durationSec: number; readonly profileBytes: number; readonly profileDelayMs: number; readonly machineBusyBeforePercent: number };
  readonly scenarios: readonly RhsmScenario[];
  /** After the hub's run: what the worker delivered to Katello, and how long it took to drain. */
  readonly drain: { readonly delivered: number; readonly drainSec: number };
}

/** One load client per host, in parallel; rates add up, the slowest host's p99 is kept. */
async function measure(scenario: RhsmScenario['scenario'], specs: readonly LoadSpec[], pids: Readonly<Record<string, number>>): Promise<RhsmScenario> {
  let watch: ReturnType<typeof watchProcesses> | undefined;
  const clients: Record<string, number> = {};
  const loads: LoadResult[] = await Promise.all(
    specs.map((spec, index) =>
      runLoad(spec, (clientPid) => {
        clients[`client${index + 1}`] = clientPid;
        if (Object.keys(clients).length === specs.length) watch = watchProcesses({ ...pids, ...clients });
      }),
    ),
  );
  const report = watch?.stop();
  const ok = String(specs[0]?.okStatus ?? 202);
  const sorted = loads.map((load) => load.p50Ms).sort((a, b) => a - b);
  return {
    scenario,
    uploadsPerSec: loads.reduce((sum, load) => sum + load.acceptedPerSec, 0),
    accepted: loads.reduce((sum, load) => sum + load.accepted, 0),
    p50Ms: sorted[Math.floor(sorted.length / 2)] ?? 0,
    p99Ms: Math.max(...loads.map((load) => load.p99Ms)),
    cpuPercent: report?.cpuPercent ?? {},
    machineBusyPercent: report?.machineBusyPercent ?? 0,
    other: loads.reduce((sum, load) => sum + Object.entries(load.statusCodes).filter(([code]) => code !== ok).reduce((n, [, count]) => n + count, 0), 0),
    errors: loads.reduce((sum, load) => sum + load.errors + load.timeouts, 0),
  };
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const label = (x: RhsmScenario): string => (x.scenario === 'hub' ? 'through the hub (202)' : 'synchronous passthrough');

function renderMarkdown(results: RhsmBenchResults): string {
  const m = results.machine;
  const s = results.settings;
  const direct = results.scenarios.find((x) => x.scenario === 'passthrough');
  const hub = results.scenarios.find((x) => x.scenario === 'hub');
  const cpu = (x: RhsmScenario): string => Object.entries(x.cpuPercent).filter(([role]) => !role.startsWith('client')).map(([role, percent]) => `${role} ${percent.toFixed(0)} %`).join(', ');
  const lines = [
    `## /rhsm profile upload benchmark (${results.date})`,
    '',
    `${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB; ${m.os}; Node ${m.node}; RabbitMQ ${m.rabbitmq ?? '?'}. Load: autocannon, ${s.connections} keep-alive connections over ${s.hosts} hosts (one client process and certificate each), no pipelining, ${s.warmupSec} s warm-up + ${s.durationSec} s measured; \`PUT /rhsm/consumers/<uuid>/profiles\`, ${s.profileBytes} B combined profile (${PACKAGES} rpm packages). Katello stand-in: ${s.profileDelayMs} ms per profile. Everything shares the machine (${s.machineBusyBeforePercent.toFixed(0)} % busy before the run): figures are indicative.`,
    '',
    '| scenario | uploads/s | p50 ms | p99 ms | CPU (% of a core) | machine busy | other status | errors |',
    '|---|---:|---:|---:|---|---:|---:|---:|',
    ...results.scenarios.map((x) => `| ${label(x)} | ${fmt(x.uploadsPerSec)} | ${x.p50Ms} | ${x.p99Ms} | ${cpu(x)} | ${x.machineBusyPercent.toFixed(0)} % | ${x.other} | ${x.errors} |`),
    '',
    'Notes:',
    `- synchronous passthrough: the client's PUT goes to the Katello stand-in over loopback HTTP with the certificate header, and waits for its answer (what Apache does on a content proxy); its ceiling is connections ÷ ${s.profileDelayMs / 1000} s. through the hub: mTLS to the ingress, 202 after the broker's confirm; \`worker:rhsm\` delivers afterwards.`,
    `- after the hub's run the worker delivered ${results.drain.delivered} profiles to Katello, the last ${results.drain.drainSec.toFixed(1)} s after the load ended: the ${hub?.accepted ?? 0} uploads accepted in the measured window (the warm-up's come on top) are ${s.hosts} hosts' profiles. A host's uploads that reach the worker together (within PROXYHUB_RHSM_COALESCE_MS of each other, or in one prefetch burst) collapse into the newest; in a backlog, where the worker takes the next upload only as Katello frees a slot, most are delivered in order. Real hosts send a profile only when it changed.`,
    hub && direct ? `- through the hub: ${(hub.uploadsPerSec / Math.max(direct.uploadsPerSec, 1)).toFixed(1)} × the passthrough's rate; the host waits ${hub.p50Ms} ms at the median instead of ${direct.p50Ms} ms.` : '',
  ];
  return `${lines.join('\n')}\n`;
}

function renderChart(results: RhsmBenchResults): string {
  const bars = results.scenarios.map((x) => ({ label: label(x), value: x.uploadsPerSec, color: x.scenario === 'hub' ? '#2980b9' : '#95a5a6' }));
  return renderBars(`Profile uploads/s, ${results.settings.connections} clients, Katello ${results.settings.profileDelayMs} ms per profile (${results.date.slice(0, 10)})`, bars);
}

/** A combined profile as subscription-manager sends it (`updateCombinedProfile`). */
function combinedProfile(): string {
  const rpm = Array.from({ length: PACKAGES }, (_, i) => ({ name: `package-${i}`, epoch: 0, version: `1.${i % 17}.${i % 5}`, release: `${i % 9}.el9`, arch: i % 7 === 0 ? 'noarch' : 'x86_64', vendor: 'Red Hat, Inc.' }));
  return JSON.stringify([
    { content_type: 'rpm', profile: rpm },
    { content_type: 'enabled_repos', profile: [{ repositoryid: 'rhel-9-baseos', baseurl: ['https://cdn.example.com/content/dist/rhel9/baseos'] }] },
    { content_type: 'modulemd', profile: [] },
  ]);
}

async function untilDrained(amqpUrl: string, queue: string, foreman: TestForeman, path: (uuid: string) => string, uuids: readonly string[]): Promise<number> {
  // The worker's deliveries carry X-Forwarded-Host; late passthrough requests do not.
  const delivered = (): number => foreman.requests.filter((r) => r.method === 'PUT' && r.headers['x-forwarded-host'] !== undefined && uuids.some((uuid) => r.path === path(uuid))).length;
  let last = -1;
  let stableSince = Date.now();
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const now = delivered();
    if (now !== last || (await queueDepth(amqpUrl, queue)) !== 0 || foreman.inFlight > 0) {
      last = now;
      stableSince = Date.now();
    } else if (Date.now() - stableSince > 5000) return now;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return delivered();
}

export async function runRhsmBench(options: BenchOptions): Promise<void> {
  const log = createPhaseLog();
  const prefix = benchPrefix();
  const redisUrl = process.env.PROXYHUB_REDIS_URL ?? 'redis://127.0.0.1:6379';
  const work = await mkdtemp(join(tmpdir(), 'proxyhub-rhsm-bench-'));
  const pki = createTestPki();
  const foreman = new TestForeman();
  foreman.rhsm.profileDelayMs = PROFILE_DELAY_MS;
  await foreman.start();
  const servers: ServerProcess[] = [];
  try {
    const hosts = Array.from({ length: HOSTS }, (_, i) => {
      const uuid = `${randomBytes(4).toString('hex')}-0000-4000-8000-${String(i).padStart(12, '0')}`;
      foreman.rhsm.consumers.set(uuid, { uuid, name: `host-${i}.example.com`, owner: 'ACME', facts: {}, checkins: 0, contentModified: new Date() });
      return { uuid, files: pki.client(uuid) };
    });
    const bodyFile = join(work, 'profile.json');
    const profile = combinedProfile();
    await writeFile(bodyFile, profile);
    const path = (uuid: string): string => `/rhsm/consumers/${uuid}/profiles`;
    const perHost = Math.max(1, Math.round(options.connections / HOSTS));

    log(`starting the hub over TLS: ingress and worker:rhsm, one process each; Katello stand-in at ${foreman.url}`);
    const tls = { cert: pki.server.cert, key: pki.server.key, ca: pki.caCert };
    const ingress = await startHubIngressTls(prefix, options.amqpUrl, tls);
    servers.push(ingress);
    const worker = await startHubWorker('worker:rhsm', prefix, options.amqpUrl, { PROXYHUB_FOREMAN_URL: foreman.url, PROXYHUB_REDIS_URL: redisUrl }, () => httpsAnswers200(`${ingress.url}/rhsm/status`, pki.read(pki.caCert)));
    servers.push(worker);

    const machineBusyBeforePercent = await machineBusyOver(1000);
    const common = { method: 'PUT' as const, bodyFile, connections: perHost, warmupSec: options.warmupSec, durationSec: options.durationSec };
    log(`synchronous passthrough: ${perHost} connections × ${HOSTS} hosts, ${options.warmupSec} s + ${options.durationSec} s`);
    const passthrough = await measure(
      'passthrough',
      hosts.map((host) => ({ ...common, url: `${foreman.url}${path(host.uuid)}`, okStatus: 200, headers: { 'content-type': 'application/json', 'x-rhsm-ssl-client-cert': pki.read(host.files.cert).toString().trim().replace(/\n/g, ' ') } })),
      { 'katello stand-in': process.pid },
    );
    log(`through the hub: ${perHost} connections × ${HOSTS} hosts, ${options.warmupSec} s + ${options.durationSec} s`);
    const before = foreman.requests.length;
    const brokerPid = findBrokerPid();
    const hub = await measure(
      'hub',
      hosts.map((host) => ({ ...common, url: `${ingress.url}${path(host.uuid)}`, okStatus: 202, headers: { 'content-type': 'application/json' }, tls: { caFile: pki.caCert, certFile: host.files.cert, keyFile: host.files.key } })),
      { ingress: ingress.pid, worker: worker.pid, ...(brokerPid === null ? {} : { broker: brokerPid }) },
    );
    log('waiting for the worker to drain what the hub accepted');
    const drainStarted = Date.now();
    foreman.requests.splice(0, before);
    const delivered = await untilDrained(options.amqpUrl, createTopology(prefix).workQueue('rhsm'), foreman, path, hosts.map((host) => host.uuid));
    const results: RhsmBenchResults = {
      date: new Date().toISOString(),
      machine: await machineInfo(options.amqpUrl),
      settings: { connections: perHost * HOSTS, hosts: HOSTS, warmupSec: options.warmupSec, durationSec: options.durationSec, profileBytes: Buffer.byteLength(profile), profileDelayMs: PROFILE_DELAY_MS, machineBusyBeforePercent },
      scenarios: [passthrough, hub],
      drain: { delivered, drainSec: Math.max(0, (Date.now() - drainStarted - 5000) / 1000) },
    };
    const written = await writeResultFiles('rhsm', results, renderMarkdown(results), renderChart(results));
    process.stdout.write(written.markdown);
    log(`wrote ${written.files.join(', ')}`);
  } finally {
    for (const server of servers.reverse()) await server.stop();
    await foreman.stop();
    await removeBenchTopology(options.amqpUrl, prefix).catch(() => undefined);
    await removePrefixKeys(redisUrl, prefix).catch(() => undefined);
    pki.remove();
    await rm(work, { recursive: true, force: true });
  }
}
