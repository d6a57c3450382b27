/**
 * `npm run bench -- rex`: remote execution at scale, against `proxyhub start --role all` in a
 * process of its own, a test Foreman (in the bench process: it only counts callbacks), real
 * Mosquitto, Redis, RabbitMQ and a real sshd on loopback.
 *
 *   pull  a launch of --pull-hosts (10,000) pull-mqtt hosts in batches of 100 (Foreman's batch
 *         size): seconds until every host was notified (one wildcard MQTT subscriber stands in for
 *         the hosts), then, in a second launch, until every job was notified, fetched with a
 *         client certificate, updated, finished and called back. Simulated hosts use --cert-hosts
 *         (200) certificate identities round robin: each is a distinct host name on its own topic,
 *         10,000 TLS client certificates would take the bench longer to make than to run.
 *   ssh   --ssh-hosts (200) push jobs against the local sshd (loopback aliases) at worker
 *         concurrency --concurrency (50): hosts finished per second.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { Agent, request } from 'undici';
import { deleteTopology, testPrefix } from '../tests/helpers/hub-harness.ts';
import { createTestPki } from '../tests/helpers/pki.ts';
import { hostJob, launchBody, type HostJob } from '../tests/helpers/rex.ts';
import { LOOPBACK_HOSTS, startSshd } from '../tests/helpers/sshd.ts';
import { TestForeman } from '../tests/helpers/test-foreman.ts';
import { machineInfo } from './lib/machine.ts';
import { createPhaseLog, type PhaseLog } from './lib/phase-log.ts';
import { runPullJob } from './lib/rex-pull-host.ts';
import { writeRexResults, type RexBenchResults } from './lib/rex-report.ts';
import { freePort, startHubWorker, type ServerProcess } from './lib/servers.ts';

export interface RexBenchOptions {
  readonly pullHosts: number;
  readonly certHosts: number;
  readonly sshHosts: number;
  readonly concurrency: number;
  readonly amqpUrl: string;
}

const MQTT_URL = process.env.PROXYHUB_MQTT_URL ?? 'mqtt://127.0.0.1:1883';
const BATCH = 100;

async function until(check: () => boolean, log: PhaseLog, label: () => string, timeoutMs = 600_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastReport = 0;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${label()}`);
    if (Date.now() - lastReport > 2000) {
      log(label());
      lastReport = Date.now();
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function launchAll(controlUrl: string, dispatcher: Agent, jobs: readonly HostJob[]): Promise<void> {
  for (let i = 0; i < jobs.length; i += BATCH) {
    const response = await request(`${controlUrl}/dynflow/tasks/launch`, { method: 'POST', dispatcher, headers: { 'content-type': 'application/json' }, body: JSON.stringify(launchBody(jobs.slice(i, i + BATCH))) });
    const text = await response.body.text();
    if (response.statusCode !== 200) throw new Error(`launch answered ${response.statusCode}: ${text}`);
  }
}

export async function runRexBench(options: RexBenchOptions): Promise<void> {
  const log = createPhaseLog();
  const prefix = `bench-${testPrefix()}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'proxyhub-bench-rex-'));
  log(`making a PKI with ${options.certHosts} host certificates`);
  const pki = createTestPki();
  const hostCerts = Array.from({ length: options.certHosts }, (_, i) => ({ name: `bench-host-${i}.example.com`, files: pki.client(`bench-host-${i}.example.com`) }));
  const foremanCert = pki.client('foreman.example.com');
  const foreman = new TestForeman();
  await foreman.start();
  const sshd = await startSshd({ maxStartups: options.concurrency * 2 });
  const [ingressPort, controlPort] = [await freePort(), await freePort()];
  const hubSettings = (mode: string): Record<string, string> => ({
    PROXYHUB_REDIS_URL: process.env.PROXYHUB_REDIS_URL ?? 'redis://127.0.0.1:6379',
    PROXYHUB_MQTT_URL: MQTT_URL,
    PROXYHUB_FOREMAN_URL: foreman.url,
    PROXYHUB_INGRESS_PORT: String(ingressPort),
    PROXYHUB_CONTROL_PORT: String(controlPort),
    PROXYHUB_TLS_CERT: pki.server.cert,
    PROXYHUB_TLS_KEY: pki.server.key,
    PROXYHUB_TLS_CA: pki.caCert,
    PROXYHUB_TRUSTED_HOSTS: 'foreman.example.com',
    PROXYHUB_DATA_DIR: dataDir,
    PROXYHUB_REX_MODE: mode,
    PROXYHUB_REX_CONCURRENCY: String(options.concurrency),
    PROXYHUB_REX_PULL_URL: `https://127.0.0.1:${ingressPort}`,
    PROXYHUB_MQTT_TTL_SECONDS: '5',
    PROXYHUB_MAX_EVENT_LOOP_DELAY_MS: '0',
    PROXYHUB_MAX_EVENT_LOOP_UTILIZATION: '0',
  });
  const ca = pki.read(pki.caCert);
  const foremanAgent = new Agent({ connect: { ca, cert: pki.read(foremanCert.cert), key: pki.read(foremanCert.key) }, connections: 4 });
  const hostAgents = new Map(hostCerts.map((host) => [host.name, new Agent({ connect: { ca, cert: pki.read(host.files.cert), key: pki.read(host.files.key) }, connections: 2 })]));
  let hub: ServerProcess | undefined;
  const startHub = async (mode: string): Promise<ServerProcess> => {
    const healthy = async (port: number): Promise<boolean> => (await request(`https://127.0.0.1:${port}/healthz`, { dispatcher: foremanAgent }).then(async (r) => (await r.body.text(), r.statusCode === 200), () => false));
    return startHubWorker('all', prefix, options.amqpUrl, { ...hubSettings(mode), PROXYHUB_LOG_LEVEL: 'warn' }, async () => (await healthy(ingressPort)) && (await healthy(controlPort)));
  };
  const callbacksOf = (jobs: readonly HostJob[]): number => {
    const ids = new Set(jobs.map((job) => job.taskId));
    return foreman.callbacks.filter((c) => ids.has(String(c.callback.task_id))).length;
  };
  try {
    hub = await startHub('pull-mqtt');
    const controlUrl = `https://127.0.0.1:${controlPort}`;
    const ingressUrl = `https://127.0.0.1:${ingressPort}`;
    // Every host's yggdrasild, as one wildcard subscription.
    const notified = new Map<string, number>();
    const subscriber = await mqtt.connectAsync(MQTT_URL, { clientId: `bench-hosts-${prefix}` });
    await subscriber.subscribeAsync('yggdrasil/+/data/in', { qos: 1 });
    const onNotice: Array<(uuid: string, topic: string) => void> = [];
    subscriber.on('message', (topic, payload) => {
      const uuid = (JSON.parse(payload.toString('utf8')) as { metadata: { job_uuid: string } }).metadata.job_uuid;
      if (!notified.has(uuid)) {
        notified.set(uuid, Date.now());
        for (const listener of onNotice) listener(uuid, topic);
      }
    });

    // Phase 1: notification only, one distinct host per job.
    const pullJobs = Array.from({ length: options.pullHosts }, (_, i) => hostJob(`pull-${i}-${randomUUID().slice(0, 8)}.bench.example.com`, 'true\n'));
    log(`pull: launching ${pullJobs.length} hosts in batches of ${BATCH}`);
    const pullStart = Date.now();
    await launchAll(controlUrl, foremanAgent, pullJobs);
    const launchedSec = (Date.now() - pullStart) / 1000;
    const pullIds = new Set(pullJobs.map((job) => job.planId));
    const notifiedCount = (): number => [...notified.keys()].filter((id) => pullIds.has(id)).length;
    await until(() => notifiedCount() === pullJobs.length, log, () => `pull: ${notifiedCount()}/${pullJobs.length} hosts notified`);
    const notifySec = (Math.max(...[...notified.entries()].filter(([id]) => pullIds.has(id)).map(([, at]) => at)) - pullStart) / 1000;
    log(`pull: all ${pullJobs.length} notified after ${notifySec.toFixed(1)} s (launch calls took ${launchedSec.toFixed(1)} s)`);
    // Cancel them: they would otherwise wait a day for hosts that do not exist.
    for (const job of pullJobs) await request(`${controlUrl}/dynflow/tasks/${job.planId}/cancel`, { method: 'POST', dispatcher: foremanAgent }).then((r) => r.body.text());
    await until(() => callbacksOf(pullJobs) === pullJobs.length, log, () => `pull: ${callbacksOf(pullJobs)}/${pullJobs.length} cancelled jobs called back`);

    // Phase 2: the whole cycle, hosts fetching and reporting as foreman_ygg_worker does.
    const cycleJobs = Array.from({ length: options.pullHosts }, (_, i) => hostJob('192.0.2.1', 'echo hi\n', { alternative_names: { fqdn: hostCerts[i % hostCerts.length]?.name } }));
    const byId = new Map(cycleJobs.map((job) => [job.planId, job]));
    let fetched = 0;
    let failed = 0;
    onNotice.push((uuid) => {
      const job = byId.get(uuid);
      if (!job) return;
      const dispatcher = hostAgents.get(String((job.input.alternative_names as { fqdn: string }).fqdn)) as Agent;
      void runPullJob(ingressUrl, uuid, dispatcher, () => (fetched += 1)).catch(() => {
        failed += 1;
      });
    });
    log(`pull cycle: launching ${cycleJobs.length} jobs over ${hostCerts.length} certificate identities`);
    const cycleStart = Date.now();
    await launchAll(controlUrl, foremanAgent, cycleJobs);
    await until(() => callbacksOf(cycleJobs) === cycleJobs.length, log, () => `pull cycle: ${fetched} fetched, ${callbacksOf(cycleJobs)}/${cycleJobs.length} called back, ${failed} host errors`);
    const cycleSec = (Date.now() - cycleStart) / 1000;
    log(`pull cycle: all ${cycleJobs.length} finished and called back after ${cycleSec.toFixed(1)} s`);
    await subscriber.endAsync();
    await hub.stop();

    // Phase 3: SSH push.
    hub = await startHub('ssh');
    const key = await request(`${ingressUrl}/ssh/pubkey`, { dispatcher: foremanAgent }).then((r) => r.body.text());
    sshd.authorize(key);
    const sshJobs = Array.from({ length: options.sshHosts }, (_, i) => hostJob(LOOPBACK_HOSTS[i % LOOPBACK_HOSTS.length] as string, 'echo "$(hostname) ok"\n', { ssh_port: sshd.port }));
    log(`ssh: launching ${sshJobs.length} hosts, concurrency ${options.concurrency}`);
    const sshStart = Date.now();
    await launchAll(controlUrl, foremanAgent, sshJobs);
    await until(() => callbacksOf(sshJobs) === sshJobs.length, log, () => `ssh: ${callbacksOf(sshJobs)}/${sshJobs.length} hosts finished`);
    const sshSec = (Date.now() - sshStart) / 1000;
    const sshOk = foreman.callbacks.filter((c) => sshJobs.some((j) => j.taskId === String(c.callback.task_id)) && c.data.exit_status === 0).length;
    log(`ssh: ${sshJobs.length} hosts in ${sshSec.toFixed(1)} s (${(sshJobs.length / sshSec).toFixed(1)} hosts/s), ${sshOk} exit 0`);

    const results: RexBenchResults = {
      benchmark: 'rex',
      date: new Date().toISOString(),
      machine: await machineInfo(options.amqpUrl),
      settings: { ...options, batchSize: BATCH, mqttTtlSeconds: 5 },
      pull: { hosts: pullJobs.length, launchSec: launchedSec, allNotifiedSec: notifySec, notifiedPerSec: pullJobs.length / notifySec },
      pullCycle: { jobs: cycleJobs.length, certificateIdentities: hostCerts.length, allFinishedSec: cycleSec, finishedPerSec: cycleJobs.length / cycleSec, hostErrors: failed },
      ssh: { hosts: sshJobs.length, concurrency: options.concurrency, allFinishedSec: sshSec, hostsPerSec: sshJobs.length / sshSec, exitZero: sshOk },
    };
    const written = await writeRexResults(results);
    process.stdout.write(written.markdown);
  } finally {
    await hub?.stop();
    await Promise.all([foremanAgent.close(), ...[...hostAgents.values()].map((agent) => agent.close())]);
    await foreman.stop();
    await sshd.stop();
    await deleteTopology(prefix).catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
    pki.remove();
  }
}
