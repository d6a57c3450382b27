/** The shapes the benchmarks pass between their phases and write to results/<benchmark>.json. */
import type { UploadResult } from './arf-load.ts';
import type { LoadResult } from './load.ts';
import type { LatencySummary, SequentialResult } from './sequential.ts';
import type { DrainResult } from './worker-drain.ts';

export const transports = ['amqp091', 'amqp10'] as const;
export type Transport = (typeof transports)[number];

export interface BenchOptions {
  readonly transport: Transport;
  /** Measured seconds per scenario. */
  readonly durationSec: number;
  /** Seconds of load before measuring, so JIT, connection set-up and queue creation are not counted. */
  readonly warmupSec: number;
  /** autocannon keep-alive connections, no pipelining. */
  readonly connections: number;
  /** Unconfirmed publishes the raw scenario keeps in flight. */
  readonly rawWindow: number;
  readonly amqpUrl: string;
}

/** CPU used during the measured window, in % of one core (200 = both cores of a 2-core box). */
export interface CpuShare {
  readonly server: number | null;
  readonly broker: number | null;
  readonly client: number | null;
  /** Whole machine, % of all cores (100 = saturated). */
  readonly machineBusy: number;
  /**
   * Busy time nobody above accounts for, % of one core: kernel work (loopback networking) plus
   * any other process. Well above ~20 % means something else ran and the figures are disturbed.
   */
  readonly unaccounted: number;
}

/**
 * `raw-matched` is raw publishing with only as many unconfirmed messages as the HTTP load keeps
 * in flight (one per connection): the most any ingress that answers after the confirm can reach
 * with that many clients, whatever its own speed. `raw-paced` is the same window with publishes
 * due at the bar's rate (0.85 × limit), timed from publish to confirm: the broker's own latency
 * there, below which no such ingress's p99 can go.
 */
export type ScenarioName = 'raw' | 'raw-matched' | 'raw-paced' | 'noop' | 'limit' | 'naive' | 'hub';

export interface ScenarioResult {
  readonly scenario: ScenarioName;
  /** `null` where no broker is involved (noop). */
  readonly transport: Transport | null;
  readonly unit: 'msg/s' | 'req/s';
  /** Accepted per second: confirmed publishes (raw) or 202 answers (noop, hub). */
  readonly rate: number;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  readonly rssPeakMiB: number | null;
  readonly cpu: CpuShare | null;
  /** Counts behind the rate (totals, failures, queue depth check). */
  readonly details: Readonly<Record<string, number | string>>;
}

export interface MachineInfo {
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly os: string;
  readonly node: string;
  readonly rabbitmq: string | null;
}

export interface IngressBenchResults {
  readonly benchmark: 'ingress';
  readonly date: string;
  readonly machine: MachineInfo;
  readonly settings: BenchOptions & { readonly payloadBytes: number; readonly messageBytes: number };
  readonly scenarios: readonly ScenarioResult[];
  readonly targets: { readonly hubVsLimit: number; readonly p99Ms: number; readonly rssMiB: number };
  /** Machine load in the second before the first scenario; above ~10 % something else was running. */
  readonly machineBusyBeforePercent: number;
}

/** `npm run bench -- registration`: its settings (run.ts) and what it writes to results/registration.json. */
export interface RegistrationOptions {
  /** Measured sequential requests per path, after `warmupRequests` unmeasured ones. */
  readonly requests: number;
  readonly warmupRequests: number;
  /** autocannon keep-alive connections of the throughput run. */
  readonly connections: number;
  readonly warmupSec: number;
  readonly durationSec: number;
  readonly amqpUrl: string;
}

export type RegistrationPath = 'direct' | 'hub';

/** CPU over one measured phase: % of one core per participant, as in CpuShare. */
export interface PhaseCpu {
  readonly processes: Readonly<Record<string, number>>;
  readonly machineBusy: number;
  readonly unaccounted: number;
}

export interface RegistrationPathResult {
  readonly path: RegistrationPath;
  readonly url: string;
  readonly sequential: SequentialResult;
  readonly sequentialCpu: PhaseCpu | null;
  readonly concurrent: LoadResult;
  readonly concurrentCpu: PhaseCpu | null;
}

export interface RegistrationBenchResults {
  readonly benchmark: 'registration';
  readonly date: string;
  readonly machine: MachineInfo;
  readonly settings: RegistrationOptions & { readonly foreman: string; readonly request: string };
  readonly paths: readonly RegistrationPathResult[];
  /** Requests the test Foreman received over the whole run (both paths, warm-ups included). */
  readonly foremanReceived: number | null;
  /** Messages left in the RPC request queue when it was deleted: 0 after a clean run. */
  readonly rpcQueueHeld: Readonly<Record<string, number>>;
  readonly machineBusyBeforePercent: number;
}

/** `npm run bench -- openscap`: its settings (run.ts). */
export interface OpenscapOptions {
  /** mTLS upload clients, one keep-alive connection each, one upload at a time. */
  readonly connections: number;
  readonly warmupSec: number;
  readonly durationSec: number;
  /** Uploads queued for the worker phase. */
  readonly reports: number;
  /** PROXYHUB_WORKER_PREFETCH for the worker; null: the hub's default. The openscap feature caps it. */
  readonly prefetch: number | null;
  /** PROXYHUB_PARSE_THREADS for the worker; null: the hub's default. */
  readonly parseThreads: number | null;
  readonly amqpUrl: string;
  readonly redisUrl: string;
}

export interface OpenscapIngressResult {
  readonly load: UploadResult;
  readonly cpu: PhaseCpu | null;
  /** Peak VmRSS of the ingress over the measured window, sampled every 200 ms. */
  readonly rssPeakMiB: number | null;
  /** Uploads purged from the work queue while this phase ran (nothing consumes them). */
  readonly purged: number;
}

export interface OpenscapWorkerResult {
  readonly drain: Omit<DrainResult, 'watch'>;
  readonly cpu: PhaseCpu | null;
  readonly prefetch: number;
  /** The work queue's depth when the worker started: `reports` when the pre-fill went right. */
  readonly queuedBefore: number | null;
  /** Decompressed XML the worker parsed after its RSS baseline (the reports the growth is over). */
  readonly xmlMiBMeasured: number;
  /** Reports that did not carry the fixture's metrics and log count (must be none). */
  readonly wrongReports: readonly string[];
  /** The system's `bzip2 -dc` on the same file, timed just before and just after the drain. */
  readonly bzip2Reference: Bzip2Reference;
}

/** CPU (user + system) of `bzip2 -dc <fixture> > /dev/null`, the yardstick of the worker's CPU per report. */
export interface Bzip2Reference {
  readonly copiesEach: number;
  readonly beforeCpuMs: number;
  readonly afterCpuMs: number;
  /** Mean of before and after: what the target is a multiple of. */
  readonly cpuMsPerCopy: number;
}

export interface OpenscapBenchResults {
  readonly benchmark: 'openscap';
  readonly date: string;
  readonly machine: MachineInfo;
  readonly settings: Omit<OpenscapOptions, 'redisUrl' | 'prefetch'> & {
    readonly fixture: string;
    readonly fixtureBytes: number;
    readonly xmlBytes: number;
    /** The prefetch the worker consumes with: the setting, capped by the openscap feature. */
    readonly prefetch: number;
    /** Reports delivered before the worker's RSS baseline: its first prefetch wave plus a few. */
    readonly warmupReports: number;
  };
  readonly ingress: OpenscapIngressResult;
  readonly worker: OpenscapWorkerResult;
  /** smart_proxy_openscap on this machine, for comparison (from the issue). */
  readonly reference: { readonly uploadsPerSec: number; readonly p99Ms: number; readonly cpuMsPerReport: number };
  readonly targets: { readonly uploadsPerSec: number; readonly p99Ms: number; readonly cpuPerReportVsBzip2: number; readonly rssGrowthMiB: number };
  /** What the prefix's queues held when deleted, and the Redis dedup keys removed. */
  readonly cleanup: { readonly queuesHeld: Readonly<Record<string, number>>; readonly redisKeysRemoved: number | null };
  readonly machineBusyBeforePercent: number;
}

/** `npm run bench -- capabilities`: its settings (run.ts) and what it writes to results/capabilities.json. */
export interface CapabilitiesOptions {
  /** Worker start/stop cycles. */
  readonly cycles: number;
  readonly amqpUrl: string;
}

/** One propagation path, measured once per cycle. */
export interface PropagationResult {
  readonly path: 'announced → SSE up' | 'withdrawn → SSE down' | 'SIGTERM → SSE down' | 'spawn → SSE up';
  readonly latency: LatencySummary;
}

export interface CapabilitiesBenchResults {
  readonly benchmark: 'capabilities';
  readonly date: string;
  readonly machine: MachineInfo;
  readonly settings: CapabilitiesOptions & { readonly workerRole: string; readonly heartbeatMs: number };
  readonly paths: readonly PropagationResult[];
  readonly targets: { readonly p99Ms: number };
  readonly machineBusyBeforePercent: number;
}
