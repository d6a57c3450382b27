/**
 * One request at a time over one keep-alive connection, timed with the high-resolution clock:
 * the latency a single registering host sees, to the microsecond (autocannon rounds to whole
 * milliseconds, which is all the direct path takes).
 */
import { Agent, request } from 'node:http';
import { percentile } from './stats.ts';

export interface LatencySummary {
  readonly count: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly meanMs: number;
  readonly minMs: number;
  readonly maxMs: number;
}

export interface SequentialResult {
  readonly latency: LatencySummary;
  /** Answers other than the expected status and body, and the first of them. */
  readonly failures: number;
  readonly firstFailure: string | null;
  /** TCP connections the client opened: 1 when keep-alive held throughout. */
  readonly connections: number;
  readonly durationSec: number;
}

export interface SequentialSpec {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly warmup: number;
  readonly requests: number;
  /** True when the answer is the one expected (status and body). */
  readonly check: (status: number, body: string) => boolean;
}

export function summarize(samplesMs: readonly number[]): LatencySummary {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  return {
    count: sorted.length,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    meanMs: sorted.reduce((sum, v) => sum + v, 0) / Math.max(1, sorted.length),
    minMs: sorted[0] ?? Number.NaN,
    maxMs: sorted[sorted.length - 1] ?? Number.NaN,
  };
}

function once(agent: Agent, url: URL, headers: Readonly<Record<string, string>>): Promise<{ status: number; body: string; ms: number; reused: boolean }> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const req = request(url, { agent, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const ms = Number(process.hrtime.bigint() - started) / 1e6;
        resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), ms, reused: req.reusedSocket });
      });
      response.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Warm-up (not recorded), then `requests` measured; `onProgress` gets the measured count at 0 and every 500. */
export async function runSequential(spec: SequentialSpec, onProgress: (measured: number) => void): Promise<SequentialResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const url = new URL(spec.url);
  const samples: number[] = [];
  let failures = 0;
  let firstFailure: string | null = null;
  let connections = 0;
  let startedAt = performance.now();
  try {
    for (let i = 0; i < spec.warmup + spec.requests; i += 1) {
      if (i === spec.warmup) {
        onProgress(0);
        startedAt = performance.now();
      }
      const answer = await once(agent, url, spec.headers);
      if (!answer.reused) connections += 1;
      if (!spec.check(answer.status, answer.body)) {
        failures += 1;
        firstFailure ??= `${answer.status} ${JSON.stringify(answer.body.slice(0, 300))}`;
      }
      if (i < spec.warmup) continue;
      samples.push(answer.ms);
      if (samples.length % 500 === 0) onProgress(samples.length);
    }
  } finally {
    agent.destroy();
  }
  return { latency: summarize(samples), failures, firstFailure, connections, durationSec: (performance.now() - startedAt) / 1000 };
}
