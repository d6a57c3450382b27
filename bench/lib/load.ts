/** Starts bench/load-client.ts as a child process and turns its JSON lines into a promise. */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export interface LoadSpec {
  readonly url: string;
  /** POST unless given; the ingress benchmark uploads, the registration benchmark GETs. */
  readonly method?: 'GET' | 'POST' | 'PUT';
  /** Request headers; a JSON content type when not given. */
  readonly headers?: Readonly<Record<string, string>>;
  /** The request body, read once from this file; none when not given. */
  readonly bodyFile?: string;
  /** The status that counts as `accepted` (202, what the ingress answers an upload, when not given). */
  readonly okStatus?: number;
  /** HTTPS with a client certificate: PEM files of the CA, and of the client's certificate and key. */
  readonly tls?: { readonly caFile: string; readonly certFile: string; readonly keyFile: string };
  readonly connections: number;
  /** Requests per second over all connections (an open loop at this rate); as fast as answered when not given. */
  readonly overallRate?: number;
  readonly warmupSec: number;
  readonly durationSec: number;
}

export interface LoadResult {
  readonly durationSec: number;
  /** Answers with the spec's `okStatus` (202 by default) in the measured run. */
  readonly accepted: number;
  readonly acceptedPerSec: number;
  /** Every completed request, whatever its status. */
  readonly requestsPerSec: number;
  /** autocannon records latency in whole milliseconds. */
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly statusCodes: Readonly<Record<string, number>>;
  readonly clientCpuPercent: number;
}

const CLIENT = fileURLToPath(new URL('../load-client.ts', import.meta.url));

/**
 * Runs warm-up + measured load; `onMeasuring` fires when the measured run starts, with the
 * client's pid, so the caller can sample the server and broker over exactly that window.
 */
export function runLoad(spec: LoadSpec, onMeasuring: (clientPid: number) => void): Promise<LoadResult> {
  const child = spawn(process.execPath, ['--import', 'tsx', CLIENT, JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const stderr: string[] = [];
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
  return new Promise((resolve, reject) => {
    let result: LoadResult | undefined;
    createInterface({ input: child.stdout }).on('line', (line) => {
      let message: { event?: string; result?: LoadResult };
      try {
        message = JSON.parse(line) as typeof message;
      } catch {
        return; // not ours
      }
      if (message.event === 'measuring') onMeasuring(child.pid ?? 0);
      if (message.event === 'result') result = message.result;
    });
    child.once('error', reject);
    child.once('close', (code) => {
      if (result !== undefined) resolve(result);
      else reject(new Error(`load client exited with ${code} before reporting: ${stderr.join('').trim()}`));
    });
  });
}
