/**
 * A Redis of the test's own, beside the machine's (which no test may restart): a child
 * `redis-server` on a fixed loopback port below the ephemeral range, with the AOF settings the
 * README asks of production, in a temporary directory. `crash()` is SIGKILL (no shutdown save, no
 * last AOF rewrite), and `start()` again on the same directory replays the AOF, as a systemd
 * restart after a crash would. Other arguments (`launchArgs`) make the replica and the Sentinels of
 * tests/helpers/own-sentinel.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixedTestPort } from './hub-harness.ts';
import { waitFor } from './wait-for.ts';

export interface OwnRedis {
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  /** Everything the server printed, across restarts (for a failing test's diagnostics). */
  readonly output: string[];
  /** SIGKILL, then wait for the process to be gone. */
  crash(): Promise<void>;
  /** Starts again on the same port and directory; resolves once the AOF is loaded and it answers PING. */
  start(): Promise<void>;
  /** Kills the server and removes its directory. */
  stop(): Promise<void>;
}

/** One PING on a fresh socket: `+PONG` once the data set is loaded (`-LOADING` before). */
const answersPing = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' }, () => socket.write('PING\r\n'));
    socket.setTimeout(1000, () => socket.destroy());
    socket.once('data', (reply) => {
      socket.destroy();
      resolve(reply.toString('utf8').startsWith('+PONG'));
    });
    socket.once('error', () => resolve(false));
    socket.once('close', () => resolve(false));
  });

/** appendfsync everysec and no RDB snapshots: the production settings the README documents. */
export const dataNodeArgs = (port: number, dir: string): string[] => ['--port', String(port), '--bind', '127.0.0.1', '--appendonly', 'yes', '--appendfsync', 'everysec', '--dir', dir, '--save', '', '--daemonize', 'no'];

export interface OwnRedisOptions {
  /**
   * The `redis-server` arguments for a port and the server's own directory (it may write files
   * there first: a Sentinel's configuration). @defaultValue a data node with AOF (dataNodeArgs)
   */
  readonly launchArgs?: (port: number, dir: string) => string[];
}

function launch(port: number, dir: string, output: string[], launchArgs: (port: number, dir: string) => string[]): ChildProcess {
  const child = spawn('redis-server', launchArgs(port, dir), { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  return child;
}

const exited = (child: ChildProcess): Promise<void> =>
  child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', () => resolve()));

async function untilReady(child: ChildProcess, port: number, output: string[]): Promise<void> {
  await waitFor(async () => child.exitCode !== null || (await answersPing(port)), { timeoutMs: 20_000, what: `the test's Redis on ${port} to answer` });
  if (child.exitCode !== null) throw new Error(`redis-server on ${port} exited ${child.exitCode}: ${output.join('').slice(-2000)}`);
}

export async function startOwnRedis(options: OwnRedisOptions = {}): Promise<OwnRedis> {
  const launchArgs = options.launchArgs ?? dataNodeArgs;
  const dir = mkdtempSync(join(tmpdir(), 'proxyhub-redis-'));
  const output: string[] = [];
  let port = 0;
  let child: ChildProcess | undefined;
  // A random fixed port may be taken by someone else: a few tries, each on a fresh one.
  for (let attempt = 0; child === undefined; attempt += 1) {
    port = fixedTestPort();
    const candidate = launch(port, dir, output, launchArgs);
    try {
      await untilReady(candidate, port, output);
      child = candidate;
    } catch (error) {
      candidate.kill('SIGKILL');
      await exited(candidate);
      if (attempt >= 4) {
        rmSync(dir, { recursive: true, force: true });
        throw error;
      }
    }
  }
  let current: ChildProcess = child;
  // A test that dies before its teardown (a failed top-level await) must not leave a server behind.
  const orphanGuard = (): void => {
    current.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', orphanGuard);
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    output,
    async crash() {
      current.kill('SIGKILL');
      await exited(current);
    },
    async start() {
      current = launch(port, dir, output, launchArgs);
      await untilReady(current, port, output);
    },
    async stop() {
      process.off('exit', orphanGuard);
      current.kill('SIGKILL');
      await exited(current);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
