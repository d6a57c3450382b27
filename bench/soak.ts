/**
 * `npm run bench -- soak [--minutes 10] [--warmup-minutes 2]`: a steady mixed load on replicas of
 * every role against a 3-node RabbitMQ cluster of the bench's own (tests/helpers/rabbit-cluster.ts;
 * the machine's broker is never touched), watching whether any proxyhub process grows.
 *
 *   processes  two of each: ingress (HTTPS, client certificates), control (HTTPS, Foreman's
 *              certificate in PROXYHUB_TRUSTED_HOSTS), worker:facts, worker:reports,
 *              worker:openscap, worker:rex (pull-mqtt, the machine's Mosquitto), each
 *              `proxyhub start --role <role>` in a process of its own, all on the cluster's three
 *              nodes, the machine's Redis and a stand-in Foreman (bench/foreman-server.ts --counts)
 *   load       paced mTLS uploads spread over both ingresses (bench/arf-client.ts, one process per
 *              kind): facts, Ansible and Puppet reports from tests/fixtures, ARF reports; REX
 *              pull jobs launched in Foreman's way through both controls, and simulated hosts
 *              (bench/lib/rex-pull-host.ts) fetching and finishing them through both ingresses
 *   sampling   every 5 s: VmRSS of every proxyhub process, 202/s and p99 per kind, REX jobs
 *              finished, deliveries at Foreman; one progress line on stderr
 *   drain      the load stops; the run waits until Foreman has everything that was accepted
 *
 * Results: bench/results/soak.{md,json} and soak-{rss,throughput,p99}.svg (bench/lib/soak-report.ts).
 * Everything the run made (cluster, processes, Redis keys, temp files) is removed at the end,
 * also after Ctrl-C (a second Ctrl-C quits at once; the cluster nodes still die with the process).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { Agent, request } from 'undici';
import { createTopology } from '../contracts/topology.ts';
import { pullTopic } from '../contracts/rex/mqtt.ts';
import { reportFixtures, factsFixtures } from '../tests/helpers/fixtures.ts';
import { createTestPki } from '../tests/helpers/pki.ts';
import { RabbitCluster } from '../tests/helpers/rabbit-cluster.ts';
import { hostJob, launchBody } from '../tests/helpers/rex.ts';
import { loadArfFixture } from './lib/arf-fixture.ts';
import { runUploads, type UploadInterval, type UploadSpec } from './lib/arf-load.ts';
import { queueDepth } from './lib/broker.ts';
import { machineInfo } from './lib/machine.ts';
import { createPhaseLog } from './lib/phase-log.ts';
import { machineBusyOver, readMemory } from './lib/proc-stats.ts';
import { removePrefixKeys } from './lib/redis-keys.ts';
import { runPullJob } from './lib/rex-pull-host.ts';
import { freePort, startHubControlTls, startHubIngressTls, startHubWorker, startTestForeman, type ServerProcess } from './lib/servers.ts';
import { writeSoakResults, type DeliveryCounts, type KindInterval, type SoakKind, type SoakRun, type SoakSample } from './lib/soak-report.ts';
import { benchPrefix } from './lib/prefix.ts';

export interface SoakOptions {
  readonly minutes: number;
  /** RSS is judged from here on (JIT, pools and caches filled). */
  readonly warmupMinutes: number;
}

const REDIS_URL = process.env.PROXYHUB_REDIS_URL ?? 'redis://127.0.0.1:6379';
const MQTT_URL = process.env.PROXYHUB_MQTT_URL ?? 'mqtt://127.0.0.1:1883';
const SAMPLE_MS = 5000;
/** The host every upload comes from (its certificate's CN is the name the uploads carry). */
const HOST = 'soak-host.example.com';
const FOREMAN_CN = 'foreman.example.com';
/**
 * After the load: give up waiting for Foreman when nothing arrived for this long; longer than the
 * rex worker's longest wait between two callback attempts (PROXYHUB_REX_CALLBACK_BACKOFF_MAX_MS, 60 s).
 */
const DRAIN_QUIET_MS = 90_000;
const DRAIN_MAX_MS = 180_000;

/**
 * Uploads per second and clients per kind: a steady day's traffic for a proxy, well under the
 * capacity measured by the other benches. Enough clients that each waits seconds between its
 * uploads: the rate holds even when answers take a second on a saturated machine.
 */
const UPLOADS = {
  facts: { ratePerSec: 40, connections: 32 },
  'reports-ansible': { ratePerSec: 5, connections: 8 },
  'reports-puppet': { ratePerSec: 5, connections: 8 },
  arf: { ratePerSec: 1, connections: 4 },
} as const;
type UploadKind = keyof typeof UPLOADS;
const uploadKinds = Object.keys(UPLOADS) as UploadKind[];
/**
 * REX: a launch of this many pull jobs every interval, over this many host identities (each its
 * own topic and certificate). A host whose fetch or update is refused (a 503 while the machine is
 * saturated) tries the job again after a pause, up to `attempts` times in all.
 */
const REX = { jobsPerLaunch: 10, launchEveryMs: 5000, hosts: 8, attempts: 3, retryAfterMs: 2000 } as const;

/** Feature offsets of the metrics port (hub/config/schema.ts, PROXYHUB_METRICS_PORT). */
const METRICS_OFFSET: Readonly<Record<string, number>> = { facts: 0, reports: 1, openscap: 2, rex: 5 };
const WORKER_FEATURES = ['facts', 'reports', 'openscap', 'rex'] as const;

interface Hub {
  readonly label: string;
  readonly server: ServerProcess;
}

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const timer = setTimeout(done, Math.max(0, ms));
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

/** The latest `counts` line of the stand-in Foreman. */
function deliveredSoFar(foreman: ServerProcess): DeliveryCounts {
  const lines = [...foreman.output().matchAll(/^counts (\{.*\})$/gm)];
  const last = lines.at(-1)?.[1];
  return last === undefined ? { facts: 0, reports: 0, arf: 0, callbacks: 0 } : (JSON.parse(last) as DeliveryCounts);
}

/** Bodies on disk for the upload clients: the fixtures, named for HOST. */
function writeBodies(dir: string): Record<UploadKind, { file: string; path: string; headers: Record<string, string> }> {
  const facts = factsFixtures().find((f) => f.name === 'foreman-facts_rhel_7_server.json');
  const reports = reportFixtures();
  const ansible = reports.find((r) => r.name === 'smart_proxy_reports-ansible-package-install-success.json');
  const puppet = reports.find((r) => r.name === 'smart_proxy_reports-puppet-bats-install-apache.yaml');
  if (!facts || !ansible || !puppet) throw new Error('a soak fixture is missing from tests/fixtures');
  const file = (name: string, content: string | Buffer): string => {
    writeFileSync(join(dir, name), content);
    return join(dir, name);
  };
  return {
    facts: { file: file('facts.json', JSON.stringify({ ...facts.body, name: HOST })), path: '/api/v2/hosts/facts', headers: { 'content-type': 'application/json' } },
    'reports-ansible': { file: file('ansible.json', JSON.stringify({ ...(JSON.parse(ansible.payload) as object), host: HOST })), path: '/reports/ansible', headers: { 'content-type': 'application/json' } },
    'reports-puppet': { file: file('puppet.yaml', puppet.payload.replace(/^host: .*$/m, `host: ${HOST}`)), path: '/reports/puppet', headers: { 'content-type': 'application/x-yaml' } },
    arf: { file: file('arf.xml.bz2', loadArfFixture().bzip2), path: '/compliance/arf/1', headers: { 'content-type': 'text/xml', 'content-encoding': 'x-bzip2' } },
  };
}

/** Intervals reported by the clients since the last sample, per kind, folded into one. */
class IntervalInbox {
  readonly #pending = new Map<SoakKind, KindInterval>();

  add(kind: SoakKind, interval: Omit<UploadInterval, 'atMs'>): void {
    const current = this.#pending.get(kind) ?? { accepted: 0, other: 0, latenciesMs: [], notAccepted: {} };
    current.accepted += interval.accepted;
    current.other += interval.answered - interval.accepted + interval.errors;
    current.latenciesMs.push(...interval.acceptedLatenciesMs);
    for (const [why, count] of Object.entries(interval.rejections)) current.notAccepted[why] = (current.notAccepted[why] ?? 0) + count;
    if (interval.errors > 0) current.notAccepted['no answer'] = (current.notAccepted['no answer'] ?? 0) + interval.errors;
    this.#pending.set(kind, current);
  }

  take(kinds: readonly SoakKind[]): Record<SoakKind, KindInterval> {
    const taken = Object.fromEntries(kinds.map((kind) => [kind, this.#pending.get(kind) ?? { accepted: 0, other: 0, latenciesMs: [], notAccepted: {} }])) as Record<SoakKind, KindInterval>;
    this.#pending.clear();
    return taken;
  }
}

export async function runSoakBench(options: SoakOptions): Promise<void> {
  const log = createPhaseLog();
  const abort = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (abort.signal.aborted) process.exit(130);
    log(`${signal}: stopping the load and cleaning up (again to quit at once)`);
    abort.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const interrupted = (): void => {
    if (abort.signal.aborted) throw new Error('interrupted');
  };

  const prefix = benchPrefix();
  const dir = mkdtempSync(join(tmpdir(), 'proxyhub-bench-soak-'));
  const pki = createTestPki();
  const hubs: Hub[] = [];
  const agents: Agent[] = [];
  let cluster: RabbitCluster | undefined;
  let foreman: ServerProcess | undefined;
  let subscriber: mqtt.MqttClient | undefined;
  let launchTimer: NodeJS.Timeout | undefined;
  try {
    const busyBefore = await machineBusyOver(1000);
    const loadBefore = loadavg()[0] ?? 0;
    log(`soak: ${options.minutes} min of mixed load (RSS judged after ${options.warmupMinutes} min) under prefix ${prefix}; machine ${busyBefore.toFixed(0)} % busy, load average ${loadBefore.toFixed(2)}`);
    log('booting a 3-node RabbitMQ cluster of the bench\'s own');
    cluster = await RabbitCluster.start();
    const firstNode = cluster.nodes[0]?.url as string;
    interrupted();

    const host = pki.client(HOST);
    const foremanCert = pki.client(FOREMAN_CN);
    const rexHosts = Array.from({ length: REX.hosts }, (_, i) => `soak-${prefix}-${i}.example.com`);
    const ca = pki.read(pki.caCert);
    const hostAgents = new Map(rexHosts.map((name) => {
      const files = pki.client(name);
      const agent = new Agent({ connect: { ca, cert: pki.read(files.cert), key: pki.read(files.key) }, connections: 2 });
      agents.push(agent);
      return [name, agent];
    }));
    const foremanAgent = new Agent({ connect: { ca, cert: pki.read(foremanCert.cert), key: pki.read(foremanCert.key) }, connections: 4 });
    agents.push(foremanAgent);
    const bodies = writeBodies(dir);

    foreman = await startTestForeman(['--counts']);
    const tls = { cert: pki.server.cert, key: pki.server.key, ca: pki.caCert };
    const common: Record<string, string> = {
      PROXYHUB_REDIS_URL: REDIS_URL,
      PROXYHUB_MQTT_URL: MQTT_URL,
      PROXYHUB_FOREMAN_URL: foreman.url,
      PROXYHUB_DATA_DIR: join(dir, 'data'),
      PROXYHUB_TRUSTED_HOSTS: FOREMAN_CN,
      // As an operator runs it: Foreman's certificate for the control routes, a host's for uploads.
      PROXYHUB_DEV_OPEN_CONTROL: '0',
      PROXYHUB_DEV_ANONYMOUS_UPLOADS: '0',
      PROXYHUB_REX_MODE: 'pull-mqtt',
    };
    const started = async (label: string, start: () => Promise<ServerProcess>): Promise<void> => {
      const server = await start();
      hubs.push({ label, server });
      log(`${label} running (pid ${server.pid})`);
    };
    log(`starting two of each role on the cluster (${cluster.nodes.map((n) => n.amqpPort).join(', ')})`);
    // An ingress reaches the broker only: it refuses to start with Foreman settings.
    const { PROXYHUB_FOREMAN_URL: _foreman, ...ingressSettings } = common;
    await Promise.all([1, 2].map((n) => started(`ingress-${n}`, () => startHubIngressTls(prefix, cluster?.url as string, tls, ingressSettings))));
    interrupted();
    const ingressUrls = hubs.map((h) => h.server.url);
    common.PROXYHUB_REX_PULL_URL = ingressUrls[0] as string;
    await Promise.all([1, 2].map((n) => started(`control-${n}`, () => startHubControlTls(prefix, cluster?.url as string, tls, common))));
    interrupted();
    const controlUrls = hubs.filter((h) => h.label.startsWith('control')).map((h) => h.server.url);
    for (const feature of WORKER_FEATURES) {
      await Promise.all([1, 2].map((n) => started(`${feature}-${n}`, async () => {
        const port = await freePort();
        const base = port - (METRICS_OFFSET[feature] ?? 0);
        const ready = (): Promise<boolean> => fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.status === 200, () => false);
        return startHubWorker(`worker:${feature}`, prefix, cluster?.url as string, { ...common, PROXYHUB_METRICS_PORT: String(base) }, ready);
      })));
      interrupted();
    }

    // The REX hosts' yggdrasild: one MQTT client subscribed to each simulated host's own topic
    // (the topic is yggdrasil's, with no prefix; the host names carry the run's prefix instead).
    const inbox = new IntervalInbox();
    const rex = { launched: 0, launchFailures: 0, finished: 0, hostErrors: 0, hostRetries: 0 };
    const pending = new Map<string, { launchedAt: number; host: string; fetching: boolean }>();
    subscriber = await mqtt.connectAsync(MQTT_URL, { clientId: `${prefix}-hosts` });
    await subscriber.subscribeAsync(rexHosts.map(pullTopic), { qos: 1 });
    let fetches = 0;
    subscriber.on('message', (_topic, payload) => {
      let uuid: string;
      try {
        uuid = (JSON.parse(payload.toString('utf8')) as { metadata: { job_uuid: string } }).metadata.job_uuid;
      } catch {
        return;
      }
      const job = pending.get(uuid);
      if (!job || job.fetching) return;
      job.fetching = true;
      const attempt = async (): Promise<void> => {
        for (let n = 1; ; n += 1) {
          try {
            return await runPullJob(ingressUrls[fetches++ % ingressUrls.length] as string, uuid, hostAgents.get(job.host) as Agent);
          } catch (error) {
            if (n >= REX.attempts) throw error;
            rex.hostRetries += 1;
            await sleep(REX.retryAfterMs);
          }
        }
      };
      attempt().then(
        () => {
          rex.finished += 1;
          inbox.add('rex', { accepted: 1, answered: 1, errors: 0, statusCodes: {}, rejections: {}, acceptedLatenciesMs: [performance.now() - job.launchedAt] });
        },
        (error: unknown) => {
          rex.hostErrors += 1;
          // runPullJob's own errors say which step answered what (`fetch 503 PROXYHUB_OVERLOADED`); anything else is the connection's.
          const what = error instanceof Error && /^(fetch|update) \d+/.test(error.message) ? error.message : 'no answer';
          inbox.add('rex', { accepted: 0, answered: 1, errors: 0, statusCodes: {}, rejections: { [what]: 1 }, acceptedLatenciesMs: [] });
        },
      ).finally(() => pending.delete(uuid));
    });
    let launches = 0;
    let nextHost = 0;
    const launchBatch = async (): Promise<void> => {
      const jobs = Array.from({ length: REX.jobsPerLaunch }, () => {
        const name = rexHosts[nextHost++ % rexHosts.length] as string;
        const job = hostJob('192.0.2.1', 'echo hi\n', { alternative_names: { fqdn: name } });
        // Before the launch: the notice may come before the launch's answer.
        pending.set(job.planId, { launchedAt: performance.now(), host: name, fetching: false });
        return job;
      });
      const controlUrl = controlUrls[launches++ % controlUrls.length] as string;
      try {
        const response = await request(`${controlUrl}/dynflow/tasks/launch`, { method: 'POST', dispatcher: foremanAgent, headers: { 'content-type': 'application/json' }, body: JSON.stringify(launchBody(jobs)) });
        const text = await response.body.text();
        if (response.statusCode !== 200) throw new Error(`launch answered ${response.statusCode}: ${text.slice(0, 200)}`);
        rex.launched += jobs.length;
      } catch (error) {
        rex.launchFailures += jobs.length;
        log(`REX launch of ${jobs.length} jobs failed: ${error instanceof Error ? error.message : String(error)}`);
        for (const job of jobs) pending.delete(job.planId);
      }
    };

    const totalMs = options.minutes * 60_000;
    log(`load: ${uploadKinds.map((k) => `${k} ${UPLOADS[k].ratePerSec}/s`).join(', ')}, REX ${(REX.jobsPerLaunch * 1000) / REX.launchEveryMs} jobs/s; for ${options.minutes} min`);
    const loadStartedAt = performance.now();
    const clients = uploadKinds.map((kind) => {
      const spec: UploadSpec = {
        url: `${ingressUrls[0] as string}${bodies[kind].path}`,
        urls: ingressUrls.map((url) => `${url}${bodies[kind].path}`),
        caFile: pki.caCert,
        certFile: host.cert,
        keyFile: host.key,
        bodyFile: bodies[kind].file,
        headers: bodies[kind].headers,
        connections: UPLOADS[kind].connections,
        ratePerSec: UPLOADS[kind].ratePerSec,
        warmupSec: 0,
        durationSec: totalMs / 1000,
        intervalMs: SAMPLE_MS,
      };
      return runUploads(spec, { onInterval: (interval) => inbox.add(kind, interval), signal: abort.signal });
    });
    let clientsFinished = false;
    const clientsDone = Promise.allSettled(clients).finally(() => (clientsFinished = true));
    void launchBatch();
    launchTimer = setInterval(() => void launchBatch(), REX.launchEveryMs);

    const kinds: SoakKind[] = [...uploadKinds, 'rex'];
    const samples: SoakSample[] = [];
    const takeSample = (phase: SoakSample['phase']): SoakSample => {
      const atSec = (performance.now() - loadStartedAt) / 1000;
      const durationSec = atSec - (samples.at(-1)?.atSec ?? 0);
      const rssMiB = Object.fromEntries(hubs.map((h) => [h.label, (readMemory(h.server.pid) ?? Number.NaN) / 2 ** 20]));
      const sample: SoakSample = { atSec, durationSec, phase, rssMiB, kinds: inbox.take(kinds), delivered: deliveredSoFar(foreman as ServerProcess), rex: { ...rex }, loadAverage: loadavg()[0] ?? 0 };
      samples.push(sample);
      const perSec = (n: number): string => (n / durationSec).toFixed(1);
      const rssValues = Object.values(rssMiB);
      log(
        `${phase} ${Math.round(atSec)} s: ` +
          kinds.map((k) => `${k} ${perSec(sample.kinds[k].accepted)}/s${sample.kinds[k].other ? ` (+${sample.kinds[k].other} not 202)` : ''}`).join(', ') +
          `; REX ${rex.finished}/${rex.launched} finished; Foreman ${sample.delivered.facts}/${sample.delivered.reports}/${sample.delivered.arf}/${sample.delivered.callbacks}` +
          `; RSS ${Math.min(...rssValues).toFixed(0)}–${Math.max(...rssValues).toFixed(0)} MiB; load ${sample.loadAverage.toFixed(1)}`,
      );
      return sample;
    };
    for (let tick = 1; tick * SAMPLE_MS <= totalMs && !abort.signal.aborted; tick += 1) {
      await sleep(loadStartedAt + tick * SAMPLE_MS - performance.now(), abort.signal);
      if (!abort.signal.aborted) takeSample('load');
    }
    clearInterval(launchTimer);

    // Drain: until the clients have their last answers, Foreman has every accepted upload and
    // every finished job's callback (the hosts go on finishing the jobs launched last), or nothing
    // more arrives for a while. Sampled as before: a slow last answer must not merge minutes.
    const accepted = (kind: SoakKind): number => samples.reduce((sum, s) => sum + s.kinds[kind].accepted, 0);
    log('load stopped; draining');
    const drainStartedAt = performance.now();
    let lastChangeAt = drainStartedAt;
    let last = '';
    for (;;) {
      await sleep(SAMPLE_MS, abort.signal);
      interrupted();
      const sample = takeSample('drain');
      const d = sample.delivered;
      const wanted = { facts: accepted('facts'), reports: accepted('reports-ansible') + accepted('reports-puppet'), arf: accepted('arf'), callbacks: rex.finished };
      if (clientsFinished && d.facts >= wanted.facts && d.reports >= wanted.reports && d.arf >= wanted.arf && d.callbacks >= wanted.callbacks && pending.size === 0) break;
      const now = JSON.stringify({ d, pending: pending.size, clientsFinished, wanted });
      if (now !== last) {
        last = now;
        lastChangeAt = performance.now();
      }
      if (performance.now() - lastChangeAt > DRAIN_QUIET_MS || performance.now() - drainStartedAt > DRAIN_MAX_MS) {
        log(`drain: giving up (${JSON.stringify(d)} delivered, ${JSON.stringify(wanted)} wanted, ${pending.size} REX jobs not finished${clientsFinished ? '' : ', upload clients still waiting for answers'})`);
        break;
      }
    }
    const failed = (await clientsDone).find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw new Error(`an upload client failed: ${String(failed.reason)}`);
    // Where anything not delivered is: the work queues and their dead-letter queues.
    const topology = createTopology(prefix);
    const queues: Record<string, number | null> = {};
    for (const feature of ['facts', 'reports', 'openscap'] as const) {
      for (const queue of [topology.workQueue(feature), topology.deadLetterQueue(feature)]) queues[queue] = await queueDepth(firstNode, queue);
    }

    const run: SoakRun = {
      date: new Date().toISOString(),
      machine: await machineInfo(firstNode),
      machineBusyBeforePercent: busyBefore,
      loadAverageBefore: loadBefore,
      settings: { minutes: options.minutes, warmupMinutes: options.warmupMinutes, sampleSec: SAMPLE_MS / 1000, uploads: UPLOADS, rex: REX, processes: hubs.map((h) => h.label).sort(), clusterNodes: cluster.nodes.length },
      samples,
      queuesAfterDrain: queues,
    };
    let text: string;
    try {
      text = await writeSoakResults(run);
    } catch (error) {
      // Ten minutes of samples are not thrown away with a reporting bug.
      const file = join(tmpdir(), `proxyhub-soak-${prefix}.json`);
      writeFileSync(file, JSON.stringify(run));
      log(`writing the results failed; the run's samples are in ${file}`);
      throw error;
    }
    process.stdout.write(`\n${text}`);
  } finally {
    clearInterval(launchTimer);
    log('cleaning up: processes, cluster, Redis keys, temp files');
    await subscriber?.endAsync().catch(() => undefined);
    await Promise.all(hubs.map((h) => h.server.stop()));
    await foreman?.stop();
    await Promise.all(agents.map((agent) => agent.close().catch(() => undefined)));
    await cluster?.stop();
    await removePrefixKeys(REDIS_URL, prefix).catch((error: unknown) => log(`cleanup: ${String(error)}`));
    rmSync(dir, { recursive: true, force: true });
    pki.remove();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
