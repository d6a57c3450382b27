/**
 * Watches one worker drain a pre-filled queue. Each report is timed as the stand-in Foreman
 * answers it, and the worker's resident set is read at that moment, so memory can be drawn
 * against reports processed.
 *
 * Rates span the whole drain, from the worker's consumer appearing to the last report: with the
 * prefetch the worker parses several reports at once, so they finish in bursts, and a
 * window starting at the n-th report would count work done before it. CPU is the
 * worker's (user + system, every thread, from /proc) over the same span, so start-up before the
 * consumer is excluded. The RSS baseline is taken at the `warmupReports`-th report (JIT, pools and
 * the prefetch filled); growth is the peak after it minus it.
 */
import type { ArfForeman } from './arf-foreman.ts';
import { cpuSecondsOf, readMemory, watchProcesses, type WatchReport } from './proc-stats.ts';

const MiB = 2 ** 20;
const SAMPLE_MS = 200;

export interface RssSample {
  /** Reports Foreman had answered when the sample was taken. */
  readonly delivered: number;
  /** Seconds since the worker's consumer appeared. */
  readonly atSec: number;
  readonly rssMiB: number;
}

export interface DrainSpec {
  readonly foreman: ArfForeman;
  readonly reports: number;
  readonly warmupReports: number;
  /** Also sampled (CPU) over the drain: the broker, Foreman… */
  readonly otherPids: Readonly<Record<string, number>>;
  /** Give up when no report arrives for this long. */
  readonly stallTimeoutMs: number;
  readonly onProgress: (delivered: number, rssMiB: number) => void;
}

export interface DrainResult {
  readonly reports: number;
  readonly warmupReports: number;
  /** From the worker's consumer appearing to the last report. */
  readonly wallSec: number;
  readonly reportsPerSec: number;
  /** When the first report arrived, after the consumer appeared: the first wave's length. */
  readonly firstReportSec: number;
  /** Worker CPU over the same span. */
  readonly cpuSec: number;
  readonly cpuMsPerReport: number;
  /** 1 / CPU per report: what one fully used core would deliver. */
  readonly reportsPerCoreSec: number;
  /** RSS when the `warmupReports`-th report was delivered. */
  readonly rssStartMiB: number;
  /** Highest RSS after that, per report and every 200 ms. */
  readonly rssPeakMiB: number;
  readonly rssEndMiB: number;
  readonly rssGrowthMiB: number;
  /**
   * Mean RSS over the last quarter of the reports after the baseline minus the mean over the
   * first quarter: the garbage collector's saw-tooth cancels out, a leak does not.
   */
  readonly rssTrendMiB: number;
  /** One per report. */
  readonly samples: readonly RssSample[];
  readonly watch: WatchReport | null;
}

export interface DrainWatch {
  /** The worker's consumer is on the queue: the drain's clock and CPU count start now. */
  started(workerPid: number): void;
  readonly finished: Promise<DrainResult>;
}

function trend(rss: readonly number[]): number {
  const quarter = Math.floor(rss.length / 4);
  if (quarter === 0) return Number.NaN;
  const mean = (values: readonly number[]): number => values.reduce((sum, v) => sum + v, 0) / values.length;
  return mean(rss.slice(-quarter)) - mean(rss.slice(0, quarter));
}

/** Call before the worker starts, so that no report is missed. */
export function watchDrain(spec: DrainSpec): DrainWatch {
  const { reports, warmupReports } = spec;
  let worker: { pid: number; at: number; cpuSec: number; watch: { stop(): WatchReport } } | undefined;
  const rssNow = (): number => (worker === undefined ? Number.NaN : (readMemory(worker.pid) ?? Number.NaN) / MiB);
  const samples: RssSample[] = [];
  let baseline: number | undefined;
  let peak = 0;
  let firstReportAt: number | undefined;
  let lastReportAt = performance.now();
  let settled = false;
  let settle: (outcome: DrainResult | Error) => void = () => undefined;

  const finished = new Promise<DrainResult>((resolve, reject) => {
    settle = (outcome) => {
      if (settled) return;
      settled = true;
      clearInterval(sampler);
      const report = worker?.watch.stop() ?? null;
      if (outcome instanceof Error) reject(outcome);
      else resolve({ ...outcome, watch: report });
    };
  });

  const sampler = setInterval(() => {
    if (baseline !== undefined) peak = Math.max(peak, rssNow() || 0);
    if (performance.now() - lastReportAt > spec.stallTimeoutMs) {
      settle(new Error(`no report delivered for ${spec.stallTimeoutMs / 1000} s (${spec.foreman.delivered()}/${reports} so far)`));
    }
  }, SAMPLE_MS);

  spec.foreman.onDelivered((delivered) => {
    if (settled) return;
    const now = performance.now();
    lastReportAt = now;
    if (worker === undefined) return settle(new Error('a report arrived before the worker was ready'));
    firstReportAt ??= now;
    const rssMiB = rssNow();
    samples.push({ delivered, atSec: (now - worker.at) / 1000, rssMiB });
    if (baseline !== undefined) peak = Math.max(peak, rssMiB);
    else if (delivered >= warmupReports) peak = baseline = rssMiB;
    if (delivered % 25 === 0) spec.onProgress(delivered, rssMiB);
    if (delivered < reports) return;
    const cpuSec = (cpuSecondsOf(worker.pid) ?? Number.NaN) - worker.cpuSec;
    const wallSec = (now - worker.at) / 1000;
    const cpuMsPerReport = (cpuSec * 1000) / delivered;
    const start = baseline ?? Number.NaN;
    settle({
      reports: delivered,
      warmupReports,
      wallSec,
      reportsPerSec: delivered / wallSec,
      firstReportSec: (firstReportAt - worker.at) / 1000,
      cpuSec,
      cpuMsPerReport,
      reportsPerCoreSec: 1000 / cpuMsPerReport,
      rssStartMiB: start,
      rssPeakMiB: peak,
      rssEndMiB: rssMiB,
      rssGrowthMiB: peak - start,
      rssTrendMiB: trend(samples.filter((s) => s.delivered > warmupReports).map((s) => s.rssMiB)),
      samples,
      watch: null,
    });
  });

  return {
    started(workerPid) {
      lastReportAt = performance.now();
      worker = { pid: workerPid, at: lastReportAt, cpuSec: cpuSecondsOf(workerPid) ?? Number.NaN, watch: watchProcesses({ worker: workerPid, ...spec.otherPids }) };
    },
    finished,
  };
}
