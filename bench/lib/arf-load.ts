/**
 * Starts bench/arf-client.ts (mTLS uploads, ARF unless other headers are given, one keep-alive
 * connection per client) as a child process and turns its JSON lines into a promise, as load.ts
 * does for autocannon.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { LatencySummary } from './sequential.ts';

export interface UploadSpec {
  readonly url: string;
  /** PEM files: the CA the server certificate chains to, and the client's certificate and key. */
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
  /** The bzip2 ARF body, read once. */
  readonly bodyFile: string;
  /** Request headers; foreman_scap_client's (bzip2 XML) when not given. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Clients, each with one keep-alive connection and one request at a time. */
  readonly connections: number;
  /** Timed run: warm-up, then measured seconds. */
  readonly warmupSec: number;
  readonly durationSec: number;
  /** Count run instead (pre-filling a queue): until this many uploads were accepted (202), refusals sent again. */
  readonly count?: number;
  /** Several ingress replicas: the clients are spread round robin over these instead of `url`. */
  readonly urls?: readonly string[];
  /** Paced: the clients together send this many uploads a second at most (each waits `connections / rate` s between its sends). */
  readonly ratePerSec?: number;
  /** Reports an `interval` line this often: what was answered since the last one (the soak watches the run as it goes). */
  readonly intervalMs?: number;
}

/** What one `intervalMs` saw, whatever the measured window. */
export interface UploadInterval {
  /** End of the interval, ms since the clients started. */
  readonly atMs: number;
  readonly answered: number;
  readonly accepted: number;
  readonly errors: number;
  readonly statusCodes: Readonly<Record<string, number>>;
  /** Answers other than 202 by status and catalog code of their problem body (`503 PROXYHUB_OVERLOADED`). */
  readonly rejections: Readonly<Record<string, number>>;
  /** Request start → whole answer read of each 202 in the interval, ms. */
  readonly acceptedLatenciesMs: readonly number[];
}

export interface UploadResult {
  readonly durationSec: number;
  /** 202 answers completed inside the measured window (or all of a count run). */
  readonly accepted: number;
  readonly acceptedPerSec: number;
  /** Every answer completed in the window, whatever its status. */
  readonly answered: number;
  readonly statusCodes: Readonly<Record<string, number>>;
  /** Requests that got no HTTP answer (reset, TLS failure, timeout). */
  readonly errors: number;
  readonly firstError: string | null;
  /** First non-202 answer, status and body start, to tell a 503 from a 403. */
  readonly firstRejection: string | null;
  /** Request start → whole answer read, of the answers completed in the window (µs resolution). */
  readonly latency: LatencySummary;
  /** TLS connections the clients opened over the whole run: `connections` when keep-alive held. */
  readonly connectionsOpened: number;
  readonly clientCpuPercent: number;
}

const CLIENT = fileURLToPath(new URL('../arf-client.ts', import.meta.url));

export interface UploadHooks {
  readonly onMeasuring?: (clientPid: number) => void;
  readonly onProgress?: (answered: number) => void;
  readonly onInterval?: (interval: UploadInterval) => void;
  /** Stops the client at once (Ctrl-C of the caller); the promise then rejects. */
  readonly signal?: AbortSignal;
}

/**
 * Runs the uploads; `onMeasuring` fires when the measured window starts (with the client's pid),
 * `onProgress` with the uploads answered so far in a count run, `onInterval` every
 * `spec.intervalMs`.
 */
export function runUploads(spec: UploadSpec, hooks: UploadHooks = {}): Promise<UploadResult> {
  const child = spawn(process.execPath, ['--import', 'tsx', CLIENT, JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const stop = (): void => void child.kill('SIGTERM');
  hooks.signal?.addEventListener('abort', stop, { once: true });
  child.once('close', () => hooks.signal?.removeEventListener('abort', stop));
  const stderr: string[] = [];
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
  return new Promise((resolve, reject) => {
    let result: UploadResult | undefined;
    createInterface({ input: child.stdout }).on('line', (line) => {
      let message: { event?: string; result?: UploadResult; answered?: number; interval?: UploadInterval };
      try {
        message = JSON.parse(line) as typeof message;
      } catch {
        return; // not ours
      }
      if (message.event === 'measuring') hooks.onMeasuring?.(child.pid ?? 0);
      if (message.event === 'progress' && message.answered !== undefined) hooks.onProgress?.(message.answered);
      if (message.event === 'interval' && message.interval !== undefined) hooks.onInterval?.(message.interval);
      if (message.event === 'result') result = message.result;
    });
    child.once('error', reject);
    child.once('close', (code) => {
      if (result !== undefined) resolve(result);
      else reject(new Error(`ARF upload client exited with ${code} before reporting: ${stderr.join('').trim()}`));
    });
  });
}
