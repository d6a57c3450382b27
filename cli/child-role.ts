/**
 * One role of a supervised `proxyhub start` as a child process: forked from the same entry with
 * `--role <one> --supervised`, its log lines relayed whole to the supervisor's stdout and stderr
 * (unchanged: one merged stream of pino JSON lines), and its readiness reported over IPC.
 */
import { fork, type ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';

/** What a supervised child sends its supervisor once its role has started. */
export interface RoleStartedMessage {
  readonly type: 'proxyhub:role-started';
  readonly ingressUrl?: string;
  readonly controlUrl?: string;
  readonly metricsUrl?: string;
}

export function isRoleStarted(message: unknown): message is RoleStartedMessage {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === 'proxyhub:role-started';
}

/** bin/proxyhub.mjs, from cli/ in the sources or dist/cli/ in the build: it picks the same build for the child. */
const ENTRY = fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? '../bin/proxyhub.mjs' : '../../bin/proxyhub.mjs', import.meta.url));

/**
 * An ingress-only process must not hold Foreman credentials (hub/config/roles.ts): its child
 * does not inherit them, even when the supervisor, which also runs workers, was given them.
 */
function environmentFor(role: string): NodeJS.ProcessEnv {
  if (role !== 'ingress') return process.env;
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('PROXYHUB_FOREMAN_')));
}

/**
 * Copies a child's output whole lines at a time, so that two children's lines never interleave
 * mid-line: each chunk up to its last newline goes out in one write (not one write per line: an
 * ingress's access log is thousands of lines a second), the rest waits for the next chunk.
 */
export function relayLines(from: Readable | null, to: Writable): void {
  if (from === null) return;
  let pending: Buffer = Buffer.alloc(0);
  from.on('data', (chunk: Buffer) => {
    const end = chunk.lastIndexOf(0x0a);
    if (end < 0) {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      return;
    }
    to.write(pending.length === 0 ? chunk.subarray(0, end + 1) : Buffer.concat([pending, chunk.subarray(0, end + 1)]));
    pending = chunk.subarray(end + 1);
  });
  from.on('end', () => {
    if (pending.length > 0) to.write(Buffer.concat([pending, Buffer.from('\n')]));
  });
}

export function forkRole(role: string): ChildProcess {
  const child = fork(ENTRY, ['start', '--role', role, '--supervised'], {
    env: environmentFor(role),
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    // Its own process group: a Ctrl-C in the terminal reaches the supervisor only, which then
    // stops every child once (a second signal would end a child at once, mid-shutdown).
    detached: true,
  });
  relayLines(child.stdout, process.stdout);
  relayLines(child.stderr, process.stderr);
  return child;
}
