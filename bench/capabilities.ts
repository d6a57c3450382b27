/**
 * `npm run bench -- capabilities`: how fast a worker's coming and going reaches a subscriber.
 * One `proxyhub start --role control` and an SSE subscriber on its `/capabilities/events`; then,
 * `cycles` times, a `--role worker:reports` process is started and stopped with SIGTERM. A tap
 * on the capabilities stream gives each announcement's and withdrawal's own timestamp, so the
 * figures are announcement → SSE event (what the control plane adds), besides the wall-clock
 * ones an operator sees (process spawn → up, SIGTERM → down).
 */
import { randomBytes } from 'node:crypto';
import amqplib from 'amqplib';
import { createTopology } from '../contracts/topology.ts';
import { createProgress } from '../cli/progress.ts';
import { removeBenchTopology } from './lib/broker.ts';
import { writeCapabilitiesResults } from './lib/capabilities-report.ts';
import { machineInfo } from './lib/machine.ts';
import { createPhaseLog } from './lib/phase-log.ts';
import { machineBusyOver } from './lib/proc-stats.ts';
import { summarize } from './lib/sequential.ts';
import { startHubControl, startHubWorker, type ServerProcess } from './lib/servers.ts';
import { followSse, type ArrivedEvent } from './lib/sse.ts';
import type { CapabilitiesBenchResults, CapabilitiesOptions, PropagationResult } from './lib/types.ts';

const WORKER_ROLE = 'worker:reports';
const HEARTBEAT_MS = 2000;
const TARGET_P99_MS = 100;
/** No Foreman is called: the worker consumes an empty queue and the control pushes no refresh. */
const SETTINGS = { PROXYHUB_FOREMAN_URL: 'http://127.0.0.1:9', PROXYHUB_HEARTBEAT_MS: String(HEARTBEAT_MS) } as const;

interface Change {
  readonly feature: string;
  readonly change: string;
  readonly current: { instances: string[] } | null;
  readonly previous: { instances: string[] } | null;
}

const now = (): number => performance.timeOrigin + performance.now();

/** Announcement and withdrawal times by instance, as the announcing process stamped them. */
async function tapStream(amqpUrl: string, stream: string): Promise<{ announced: Map<string, number>; withdrawn: Map<string, number>; close(): Promise<void> }> {
  const announced = new Map<string, number>();
  const withdrawn = new Map<string, number>();
  const connection = await amqplib.connect(amqpUrl);
  const channel = await connection.createChannel();
  await channel.prefetch(500);
  await channel.consume(stream, (message) => {
    if (!message) return;
    channel.ack(message);
    const event = JSON.parse(message.content.toString()) as { type: string; time: string; data: { instanceId: string; sequence: number } };
    if (event.type === 'capability.announced.v1' && event.data.sequence === 1) announced.set(event.data.instanceId, Date.parse(event.time));
    if (event.type === 'capability.withdrawn.v1') withdrawn.set(event.data.instanceId, Date.parse(event.time));
  }, { arguments: { 'x-stream-offset': 'next' } });
  return { announced, withdrawn, close: () => connection.close().catch(() => undefined) };
}

async function until<T>(check: () => T | undefined, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export async function runCapabilitiesBench(options: CapabilitiesOptions): Promise<void> {
  const log = createPhaseLog();
  const prefix = `bench-caps-${randomBytes(4).toString('hex')}`;
  const topology = createTopology(prefix);
  const samples = { up: [] as number[], down: [] as number[], sigterm: [] as number[], spawn: [] as number[] };
  let control: ServerProcess | undefined;
  let worker: ServerProcess | undefined;
  const cleanups: Array<() => unknown> = [];
  try {
    const machineBusyBeforePercent = await machineBusyOver(1000);
    log(`starting proxyhub --role control under prefix ${prefix}`);
    control = await startHubControl(prefix, options.amqpUrl, SETTINGS);
    const tap = await tapStream(options.amqpUrl, topology.capabilitiesStream);
    cleanups.push(() => tap.close());
    const changes: Array<ArrivedEvent & { data: Change }> = [];
    const sse = await followSse(`${control.url}/capabilities/events`, (event) => {
      if (event.event === 'changed' && (event.data as Change).feature === 'reports') changes.push(event as ArrivedEvent & { data: Change });
    });
    cleanups.push(() => sse.close());
    log(`${options.cycles} cycles: start ${WORKER_ROLE}, wait for "up" on SSE, SIGTERM, wait for "down"`);
    const progress = createProgress('cycles', options.cycles);
    for (let cycle = 0; cycle < options.cycles; cycle += 1) {
      const from = changes.length;
      const spawnedAt = now();
      const started = startHubWorker(WORKER_ROLE, prefix, options.amqpUrl, SETTINGS, async () => changes.slice(from).some((e) => e.data.change === 'up'));
      worker = await started;
      const up = await until(() => changes.slice(from).find((e) => e.data.change === 'up'), 'the up event');
      const instance = up.data.current?.instances[0] ?? '';
      const announcedAt = await until(() => tap.announced.get(instance), `the announcement of ${instance} on the stream`);
      samples.up.push(up.at - announcedAt);
      samples.spawn.push(up.at - spawnedAt);
      const stopFrom = changes.length;
      const stoppingAt = now();
      await worker.stop();
      worker = undefined;
      const down = await until(() => changes.slice(stopFrom).find((e) => e.data.change === 'down'), 'the down event');
      if (down.data.previous?.instances[0] !== instance) throw new Error(`cycle ${cycle}: down for ${down.data.previous?.instances[0]}, expected ${instance}`);
      const withdrawnAt = await until(() => tap.withdrawn.get(instance), `the withdrawal of ${instance} (down was caused by ${(down.data as unknown as { cause: string }).cause})`);
      samples.down.push(down.at - withdrawnAt);
      samples.sigterm.push(down.at - stoppingAt);
      progress.tick(`up ${samples.up.at(-1)?.toFixed(1)} ms, down ${samples.down.at(-1)?.toFixed(1)} ms`);
    }
    progress.done();
    const paths: PropagationResult[] = [
      { path: 'announced → SSE up', latency: summarize(samples.up) },
      { path: 'withdrawn → SSE down', latency: summarize(samples.down) },
      { path: 'SIGTERM → SSE down', latency: summarize(samples.sigterm) },
      { path: 'spawn → SSE up', latency: summarize(samples.spawn) },
    ];
    const results: CapabilitiesBenchResults = {
      benchmark: 'capabilities',
      date: new Date().toISOString(),
      machine: await machineInfo(options.amqpUrl),
      settings: { ...options, workerRole: WORKER_ROLE, heartbeatMs: HEARTBEAT_MS },
      paths,
      targets: { p99Ms: TARGET_P99_MS },
      machineBusyBeforePercent,
    };
    const { markdown, files } = await writeCapabilitiesResults(results);
    process.stdout.write(`\n${markdown}\n`);
    log(`wrote ${files.join(', ')}`);
  } finally {
    await worker?.stop();
    for (const cleanup of cleanups.reverse()) await cleanup();
    await control?.stop();
    await removeBenchTopology(options.amqpUrl, prefix).catch(() => undefined);
  }
}
