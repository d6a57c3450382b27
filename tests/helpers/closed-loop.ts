/**
 * Runs tests/helpers/closed-loop-client.ts in a child process and returns what it measured.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { REPO_ROOT } from './hub-harness.ts';

const run = promisify(execFile);

export interface ClosedLoopSpec {
  readonly host: string;
  readonly port: number;
  readonly method: string;
  readonly path: string;
  readonly body: string;
  readonly connections: number;
  readonly durationMs: number;
}

export interface StatusSummary {
  readonly count: number;
  readonly perSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Answers that carried a Retry-After header with a number of seconds. */
  readonly withRetryAfter: number;
  /** Answers whose body carried the PROXYHUB_OVERLOADED code. */
  readonly overloadedCode: number;
}

export interface ClosedLoopResult {
  readonly seconds: number;
  /** By HTTP status, as a string key. */
  readonly byStatus: Readonly<Record<string, StatusSummary>>;
  /** Socket errors (resets); a closed-loop run against a healthy server has none. */
  readonly errors: number;
  /** Connections the server closed and the client opened again. */
  readonly reconnects: number;
}

export async function runClosedLoop(spec: ClosedLoopSpec): Promise<ClosedLoopResult> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', 'tests/helpers/closed-loop-client.ts', JSON.stringify(spec)], {
    cwd: REPO_ROOT,
    timeout: spec.durationMs + 30_000,
  });
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as ClosedLoopResult;
}
