/**
 * `npm run bench -- registration`: what the hub adds to a registration GET. The same request,
 * in one run against one test Foreman (a process of its own), (a) straight to Foreman and (b)
 * through `proxyhub start --role ingress` → RabbitMQ (direct reply-to) → `--role
 * worker:registration` → Foreman: sequential latency on one keep-alive connection, then
 * throughput with autocannon.
 */
import { cpus } from 'node:os';
import { createTopology } from '../contracts/topology.ts';
import { consumerCount, removeBenchTopology } from './lib/broker.ts';
import { runLoad } from './lib/load.ts';
import { machineInfo } from './lib/machine.ts';
import { createPhaseLog, type PhaseLog } from './lib/phase-log.ts';
import { findBrokerPid, machineBusyOver, watchProcesses, type WatchReport } from './lib/proc-stats.ts';
import { writeRegistrationResults } from './lib/registration-report.ts';
import { runSequential } from './lib/sequential.ts';
import { freePort, startHubIngress, startHubWorker, startTestForeman, type ServerProcess } from './lib/servers.ts';
import type { PhaseCpu, RegistrationBenchResults, RegistrationOptions, RegistrationPath, RegistrationPathResult } from './lib/types.ts';
import { benchPrefix } from './lib/prefix.ts';

const REQUEST = '/register?organization_id=1&location_id=2';
const HEADERS = { authorization: 'Bearer bench-token' } as const;

/**
 * What the test Foreman renders for this request: its `url` is the one the worker adds (the
 * ingress's base URL), and none when asked directly, so a wrong path cannot pass for a right one.
 */
const expectedScript = (url: string): string => `#!/bin/sh\n# rendered GET /register url=${url}\necho ok\n`;

function cpuOf(report: WatchReport | undefined): PhaseCpu | null {
  if (report === undefined) return null;
  const accounted = Object.values(report.cpuPercent).reduce((sum, v) => sum + v, 0);
  return { processes: report.cpuPercent, machineBusy: report.machineBusyPercent, unaccounted: report.machineBusyPercent * cpus().length - accounted };
}

const ms = (n: number): string => n.toFixed(2);

/**
 * Runs `phase`, sampling `pids` and the client from when the phase says it is measuring (after
 * its warm-up) to its end. A failed phase stops the sampler too: its timer would keep us alive.
 */
async function sampled<T>(pids: Readonly<Record<string, number>>, phase: (measuring: (clientPid: number) => void) => Promise<T>): Promise<{ value: T; cpu: PhaseCpu | null }> {
  let watch: { stop(): WatchReport } | undefined;
  try {
    const value = await phase((clientPid) => {
      watch = watchProcesses({ ...pids, client: clientPid });
    });
    return { value, cpu: cpuOf(watch?.stop()) };
  } catch (error) {
    watch?.stop();
    throw error;
  }
}

/** Sequential, then concurrent, load on one path, sampling the CPU of `pids` (plus the client). */
async function measurePath(path: RegistrationPath, baseUrl: string, scriptUrl: string, pids: Readonly<Record<string, number>>, options: RegistrationOptions, log: PhaseLog): Promise<RegistrationPathResult> {
  const url = `${baseUrl}${REQUEST}`;
  const expected = expectedScript(scriptUrl);
  log(`${path}: ${options.warmupRequests} warm-up + ${options.requests} sequential requests on one keep-alive connection`);
  const check = (status: number, body: string): boolean => status === 200 && body === expected;
  const { value: sequential, cpu: sequentialCpu } = await sampled(pids, (measuring) =>
    runSequential({ url, headers: HEADERS, warmup: options.warmupRequests, requests: options.requests, check }, (measured) => {
      if (measured === 0) measuring(process.pid);
      log(`${path}: ${measured === 0 ? 'warm-up done, measuring' : `${measured}/${options.requests} measured`}`);
    }),
  );
  const { latency } = sequential;
  log(`${path}: p50 ${ms(latency.p50Ms)} ms, p99 ${ms(latency.p99Ms)} ms, mean ${ms(latency.meanMs)} ms, max ${ms(latency.maxMs)} ms; ${sequential.failures} wrong answers, ${sequential.connections} connection(s)`);
  if (sequential.failures > 0) throw new Error(`${path}: ${sequential.failures} of ${options.warmupRequests + options.requests} answers were not the expected script; first: ${sequential.firstFailure ?? ''}`);

  log(`${path}: ${options.warmupSec} s warm-up + ${options.durationSec} s with autocannon, ${options.connections} connections`);
  const spec = { url, method: 'GET', headers: HEADERS, connections: options.connections, warmupSec: options.warmupSec, durationSec: options.durationSec, okStatus: 200 } as const;
  const { value: concurrent, cpu: concurrentCpu } = await sampled(pids, (measuring) =>
    runLoad(spec, (clientPid) => {
      log(`${path}: measuring for ${options.durationSec} s`);
      measuring(clientPid);
    }),
  );
  const wrong = concurrent.non2xx + concurrent.errors + concurrent.timeouts;
  log(`${path}: ${Math.round(concurrent.acceptedPerSec)} req/s answered 200, p99 ${concurrent.p99Ms} ms; ${wrong} non-2xx, errors or timeouts`);
  return { path, url, sequential, sequentialCpu, concurrent, concurrentCpu };
}

/**
 * The hub's two processes under a throw-away prefix, removed afterwards with its queues and
 * exchanges; `run` gets the ingress and both pids. Also returns what the RPC queue still held.
 */
async function withHub<T>(options: RegistrationOptions, foremanUrl: string, log: PhaseLog, run: (ingress: ServerProcess, pids: Record<string, number>) => Promise<T>): Promise<{ value: T; rpcQueueHeld: Record<string, number> }> {
  const prefix = benchPrefix();
  const rpcQueue = createTopology(prefix).rpcQueue('registration');
  let ingress: ServerProcess | undefined;
  let worker: ServerProcess | undefined;
  let value: T;
  let rpcQueueHeld: Record<string, number> = {};
  try {
    log(`hub: starting proxyhub --role ingress under prefix ${prefix}`);
    // The ingress gets no Foreman setting: an ingress-only process refuses to start with one.
    ingress = await startHubIngress(prefix, options.amqpUrl, { PROXYHUB_CONTROL_PORT: String(await freePort()) });
    log('hub: starting proxyhub --role worker:registration');
    const workerSettings = { PROXYHUB_FOREMAN_URL: foremanUrl, PROXYHUB_INGRESS_PORT: String(await freePort()), PROXYHUB_CONTROL_PORT: String(await freePort()) };
    worker = await startHubWorker('worker:registration', prefix, options.amqpUrl, workerSettings, async () => (await consumerCount(options.amqpUrl, rpcQueue)) > 0);
    log(`hub: ready (ingress ${ingress.url}, worker consuming ${rpcQueue})`);
    value = await run(ingress, { ingress: ingress.pid, worker: worker.pid });
  } finally {
    // Ingress first, so no request is left waiting for a worker that is gone.
    await ingress?.stop();
    await worker?.stop();
    try {
      rpcQueueHeld = (await removeBenchTopology(options.amqpUrl, prefix)).rpcQueued;
      log(`hub: stopped; removed ${prefix}'s queues and exchanges`);
    } catch (error) {
      log(`hub: could not remove ${prefix}'s queues and exchanges: ${String(error)}`);
    }
  }
  return { value, rpcQueueHeld };
}

export async function runRegistrationBench(options: RegistrationOptions): Promise<void> {
  const log = createPhaseLog();
  log(`registration benchmark: GET ${REQUEST}, ${options.warmupRequests} + ${options.requests} sequential, ${options.connections} connections for ${options.durationSec} s`);
  const machine = await machineInfo(options.amqpUrl);
  const brokerPid = findBrokerPid();
  const broker = brokerPid === null ? {} : { broker: brokerPid };
  const busyBefore = await machineBusyOver(1000);
  if (busyBefore > 10) log(`warning: the machine is already ${busyBefore.toFixed(0)} % busy; the figures will be disturbed`);
  log('foreman: starting the test Foreman in a child process');
  const foreman = await startTestForeman();
  try {
    log(`foreman: listening on ${foreman.url}`);
    const direct = await measurePath('direct', foreman.url, '', { foreman: foreman.pid, ...broker }, options, log);
    const { value: hub, rpcQueueHeld } = await withHub(options, foreman.url, log, (ingress, pids) =>
      measurePath('hub', ingress.url, ingress.url, { ...pids, foreman: foreman.pid, ...broker }, options, log),
    );
    await foreman.stop(); // it prints how many requests it received on its way out
    const received = /^received (\d+)$/m.exec(foreman.output())?.[1];
    const results: RegistrationBenchResults = {
      benchmark: 'registration',
      date: new Date().toISOString(),
      machine,
      settings: {
        ...options,
        amqpUrl: options.amqpUrl.replace(/\/\/[^@/]*@/, '//***@'),
        foreman: 'tests/helpers/test-foreman.ts TestForeman in a child process (bench/foreman-server.ts)',
        request: `GET ${REQUEST}, Authorization: Bearer …`,
      },
      paths: [direct, hub],
      foremanReceived: received === undefined ? null : Number(received),
      rpcQueueHeld,
      machineBusyBeforePercent: busyBefore,
    };
    const { markdown, files } = await writeRegistrationResults(results);
    log(`wrote ${files.join(', ')}`);
    process.stdout.write(`\n${markdown}`);
  } finally {
    await foreman.stop(); // a no-op once it has exited
  }
}
