/**
 * `npm run bench -- <benchmark> [options]` (scripts/run.mjs has made sure RabbitMQ and Redis run).
 *
 *   ingress        hub ingress vs raw broker publishing and a no-op HTTP server
 *   ingress-cpu    CPU per accepted upload of the hub's ingress and of the naive handler at one fixed rate,
 *                  in alternating --rounds (3) at --rate (3000/s): the figure to compare code changes by
 *   registration   a registration GET straight to a test Foreman vs through ingress → broker → worker
 *   openscap       ARF uploads over mTLS into the ingress; one openscap worker draining them
 *   capabilities   worker start/stop → SSE subscriber of the control role, p50/p99 over --cycles (200)
 *   features       Foreman's capability poll, GET /v2/features over mTLS, vs a static HTTPS server (32 clients)
 *   container-gateway  manifest pulls through the hub vs the registry directly (32 clients)
 *   rex            remote execution at scale: a pull-mqtt launch (notify, and the full cycle) and SSH push
 *   overload       `--role all` over mTLS past its capacity: open and closed loop at 2 × peak, both
 *                  transports (--transport, --load limit it to one), and how soon it is back at its peak
 *   rhsm           profile uploads accepted by the hub vs a synchronous passthrough to a Katello taking 500 ms
 *   soak           --minutes (10) of mixed load on a 3-node cluster of its own, two processes of every role:
 *                  RSS of each over time (judged after --warmup-minutes, 2 or a fifth of the run), 202/s
 *                  and p99 per kind, accepted against delivered
 *
 * Options: --duration <s> (10), --warmup <s> (3), --connections <n> (50; 20 for registration, 8
 * for openscap), --window <n> (1000), --transport amqp091|amqp10 (ingress: the hub's transport and
 * the raw publisher's protocol; results go to results/ingress.* and results/ingress-amqp10.*),
 * --requests <n> (registration: 2000 sequential requests per path, after 300), --reports <n>
 * (openscap: 200 uploads drained by the worker), --prefetch <n> (openscap: the worker's
 * PROXYHUB_WORKER_PREFETCH, which the feature caps; the hub's default when not given),
 * --parse-threads <n> (openscap: the worker's PROXYHUB_PARSE_THREADS; the hub's default when not given).
 * The broker is PROXYHUB_AMQP_URL and Redis PROXYHUB_REDIS_URL, as for the hub itself.
 */
import { parseArgs } from 'node:util';
import { runIngressBench } from './ingress.ts';
import { runIngressCpuBench, type IngressCpuOptions } from './ingress-cpu.ts';
import { runCapabilitiesBench } from './capabilities.ts';
import { runFeaturesBench } from './features.ts';
import { runContainerGatewayBench } from './container-gateway.ts';
import { runOpenscapBench } from './openscap.ts';
import { runRegistrationBench } from './registration.ts';
import { runRexBench } from './rex.ts';
import { runRhsmBench } from './rhsm.ts';
import { runSoakBench, type SoakOptions } from './soak.ts';
import type { RexBenchOptions } from './rex.ts';
import { runOverloadBench, type Load, type OverloadOptions } from './overload.ts';
import { transports, type BenchOptions, type CapabilitiesOptions, type OpenscapOptions, type RegistrationOptions, type Transport } from './lib/types.ts';

const USAGE = [
  'usage: npm run bench -- ingress [--duration 10] [--warmup 3] [--connections 50] [--window 1000] [--transport amqp091|amqp10]',
  '       npm run bench -- ingress-cpu [--rate 3000] [--rounds 3] [--connections 50] [--duration 10] [--warmup 3] [--transport amqp091|amqp10]',
  '       npm run bench -- registration [--requests 2000] [--connections 20] [--duration 10] [--warmup 3]',
  '       npm run bench -- openscap [--connections 8] [--duration 10] [--warmup 3] [--reports 200] [--prefetch <n>] [--parse-threads <n>]',
  '       npm run bench -- capabilities [--cycles 200]',
  '       npm run bench -- features [--connections 32] [--duration 10] [--warmup 3]',
  '       npm run bench -- container-gateway [--connections 32] [--duration 10] [--warmup 3]',
  '       npm run bench -- rhsm [--connections 48] [--duration 10] [--warmup 3]',
  '       npm run bench -- rex [--pull-hosts 10000] [--cert-hosts 200] [--ssh-hosts 200] [--concurrency 50]',
  '       npm run bench -- overload [--connections 50] [--clients 1024] [--warmup 3] [--duration 10] [--overload 30] [--recovery 10] [--transport amqp091|amqp10] [--load open|closed] [--ingress-processes 1,2]',
  '       npm run bench -- soak [--minutes 10] [--warmup-minutes 2]',
].join('\n');
/** Unmeasured sequential requests before the registration benchmark's measured ones. */
const REGISTRATION_WARMUP_REQUESTS = 300;
/** --connections when not given: 50 unless the benchmark says otherwise (openscap: the issue's 8 hosts). */
const DEFAULT_CONNECTIONS: Readonly<Record<string, number>> = { registration: 20, openscap: 8, features: 32, 'container-gateway': 32, rhsm: 48 };

function positiveNumber(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed <= 0) throw new Error(`--${name} must be a positive number, not "${value}"`);
  return parsed;
}

function parseTransport(value: string | undefined): Transport {
  const transport = value ?? 'amqp091';
  if (!(transports as readonly string[]).includes(transport)) throw new Error(`--transport must be one of ${transports.join(', ')}, not "${transport}"`);
  return transport as Transport;
}

const loads = ['open', 'closed'] as const satisfies readonly Load[];

/** overload --load: one kind of overload, or both when not given. */
function parseLoads(value: string | undefined): readonly Load[] {
  if (value === undefined) return loads;
  if (!(loads as readonly string[]).includes(value)) throw new Error(`--load must be one of ${loads.join(', ')}, not "${value}"`);
  return [value as Load];
}

/** overload --ingress-processes: a comma list of PROXYHUB_INGRESS_PROCESSES values, each run in turn. @defaultValue 1,2 */
function parseProcessCounts(value: string | undefined): readonly number[] {
  const counts = (value ?? '1,2').split(',').map((part) => Number(part.trim()));
  if (counts.some((count) => !Number.isInteger(count) || count < 1 || count > 16)) throw new Error(`--ingress-processes must be a comma list of whole numbers 1-16, not "${value}"`);
  return counts;
}

interface ParsedArgs {
  readonly benchmark: string | undefined;
  readonly options: BenchOptions;
  readonly registration: RegistrationOptions;
  readonly openscap: OpenscapOptions;
  readonly capabilities: CapabilitiesOptions;
  readonly rex: RexBenchOptions;
  readonly overload: OverloadOptions;
  readonly soak: SoakOptions;
  readonly ingressCpu: IngressCpuOptions;
}

function parseOptions(args: readonly string[]): ParsedArgs {
  const { values, positionals } = parseArgs({
    args: [...args],
    allowPositionals: true,
    options: {
      duration: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string' },
      window: { type: 'string' },
      transport: { type: 'string' },
      requests: { type: 'string' },
      reports: { type: 'string' },
      prefetch: { type: 'string' },
      'parse-threads': { type: 'string' },
      cycles: { type: 'string' },
      'pull-hosts': { type: 'string' },
      'cert-hosts': { type: 'string' },
      'ssh-hosts': { type: 'string' },
      concurrency: { type: 'string' },
      clients: { type: 'string' },
      load: { type: 'string' },
      'ingress-processes': { type: 'string' },
      overload: { type: 'string' },
      recovery: { type: 'string' },
      minutes: { type: 'string' },
      'warmup-minutes': { type: 'string' },
      rate: { type: 'string' },
      rounds: { type: 'string' },
    },
  });
  const benchmark = positionals[0];
  const options: BenchOptions = {
    transport: parseTransport(values.transport),
    durationSec: positiveNumber('duration', values.duration, 10),
    warmupSec: positiveNumber('warmup', values.warmup, 3),
    connections: Math.round(positiveNumber('connections', values.connections, DEFAULT_CONNECTIONS[benchmark ?? ''] ?? 50)),
    rawWindow: Math.round(positiveNumber('window', values.window, 1000)),
    // The one setting shared with the hub; the bench passes it on to the hub it starts.
    amqpUrl: process.env.PROXYHUB_AMQP_URL ?? 'amqp://127.0.0.1:5672',
  };
  const { durationSec, warmupSec, connections, amqpUrl } = options;
  const requests = Math.round(positiveNumber('requests', values.requests, 2000));
  const reports = Math.round(positiveNumber('reports', values.reports, 200));
  // The hub's own default unless given: the benchmark measures what an operator runs.
  const prefetch = values.prefetch === undefined ? null : Math.round(positiveNumber('prefetch', values.prefetch, 1));
  const parseThreads = values['parse-threads'] === undefined ? null : Math.round(positiveNumber('parse-threads', values['parse-threads'], 1));
  const redisUrl = process.env.PROXYHUB_REDIS_URL ?? 'redis://127.0.0.1:6379';
  const cycles = Math.round(positiveNumber('cycles', values.cycles, 200));
  const rex: RexBenchOptions = {
    pullHosts: Math.round(positiveNumber('pull-hosts', values['pull-hosts'], 10_000)),
    certHosts: Math.round(positiveNumber('cert-hosts', values['cert-hosts'], 200)),
    sshHosts: Math.round(positiveNumber('ssh-hosts', values['ssh-hosts'], 200)),
    concurrency: Math.round(positiveNumber('concurrency', values.concurrency, 50)),
    amqpUrl,
  };
  const minutes = positiveNumber('minutes', values.minutes, 10);
  const soak: SoakOptions = { minutes, warmupMinutes: positiveNumber('warmup-minutes', values['warmup-minutes'], Math.min(2, minutes / 5)) };
  if (soak.warmupMinutes >= minutes) throw new Error('--warmup-minutes must be shorter than --minutes');
  return {
    benchmark,
    options,
    registration: { requests, warmupRequests: REGISTRATION_WARMUP_REQUESTS, connections, durationSec, warmupSec, amqpUrl },
    openscap: { connections, warmupSec, durationSec, reports, prefetch, parseThreads, amqpUrl, redisUrl },
    capabilities: { cycles, amqpUrl },
    rex,
    overload: {
      amqpUrl,
      transports: values.transport === undefined ? transports : [options.transport],
      loads: parseLoads(values.load),
      ingressProcesses: parseProcessCounts(values['ingress-processes']),
      connections,
      clients: Math.round(positiveNumber('clients', values.clients, 1024)),
      warmupSec,
      peakSec: durationSec,
      overloadSec: positiveNumber('overload', values.overload, 30),
      recoverySec: positiveNumber('recovery', values.recovery, 10),
    },
    soak,
    ingressCpu: {
      amqpUrl,
      transport: options.transport,
      ratePerSec: Math.round(positiveNumber('rate', values.rate, 3000)),
      rounds: Math.max(1, Math.round(positiveNumber('rounds', values.rounds, 3))),
      connections,
      warmupSec,
      durationSec,
    },
  };
}

/** Runs one benchmark; a failure is one readable line (plus the hub's output, when the hub failed). */
async function attempt(name: string, run: () => Promise<void>): Promise<number> {
  try {
    await run();
    return 0;
  } catch (error) {
    process.stderr.write(`bench ${name} failed: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}

async function main(args: readonly string[]): Promise<number> {
  let parsed: ReturnType<typeof parseOptions>;
  try {
    parsed = parseOptions(args);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  switch (parsed.benchmark) {
    case 'ingress':
      return attempt('ingress', () => runIngressBench(parsed.options));
    case 'ingress-cpu':
      return attempt('ingress-cpu', () => runIngressCpuBench(parsed.ingressCpu));
    case 'registration':
      return attempt('registration', () => runRegistrationBench(parsed.registration));
    case 'openscap':
      return attempt('openscap', () => runOpenscapBench(parsed.openscap));
    case 'features':
      return attempt('features', () => runFeaturesBench(parsed.options));
    case 'container-gateway':
      return attempt('container-gateway', () => runContainerGatewayBench(parsed.options));
    case 'capabilities':
      return attempt('capabilities', () => runCapabilitiesBench(parsed.capabilities));
    case 'rex':
      return attempt('rex', () => runRexBench(parsed.rex));
    case 'overload':
      return attempt('overload', () => runOverloadBench(parsed.overload));
    case 'rhsm':
      return attempt('rhsm', () => runRhsmBench(parsed.options));
    case 'soak':
      return attempt('soak', () => runSoakBench(parsed.soak));
    default:
      process.stderr.write(`${parsed.benchmark === undefined ? 'no benchmark given' : `unknown benchmark "${parsed.benchmark}"`}\n${USAGE}\n`);
      return 2;
  }
}

process.exitCode = await main(process.argv.slice(2));
