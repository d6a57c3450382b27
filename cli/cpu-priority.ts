/**
 * A process that only does work its hosts were already answered for (facts, reports and openscap
 * deliveries, ARF parsing) runs at a lower CPU priority (`PROXYHUB_WORKER_NICENESS`). Co-located
 * with an ingress on a machine short of CPU, the scheduler then serves the event loop that
 * answers hosts first, and the workers take what is left: their uploads wait durably in the
 * queue meanwhile, while an ingress starved of CPU would refuse new ones or answer them late. On
 * an idle machine nothing changes: a lowered process still gets every core no one else wants.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import { deferredWorkFeatures } from '../contracts/topology.ts';
import type { RoleSet } from '../hub/config/roles.ts';

/** True for a process running workers only, all of them of deferred work. */
export function runsDeferredWorkOnly(roles: RoleSet): boolean {
  return !roles.ingress && !roles.control && roles.workers.length > 0 && roles.workers.every((feature) => (deferredWorkFeatures as readonly string[]).includes(feature));
}

export interface LoweredPriority {
  /** The nice value the process's threads run at now. */
  readonly nice: number;
  /** How many of its threads were lowered. */
  readonly threads: number;
  /** Whether its scheduling autogroup was lowered too (see below). */
  readonly autogroup: boolean;
}

/**
 * Lowers every thread of this process by `steps` nice values (at most to 19). Linux keeps a nice
 * value per thread and a new thread inherits its creator's, so the threads running now (V8's,
 * libuv's) are lowered one by one, and those started later (a thread pool's) start lowered.
 * Elsewhere `setPriority` lowers the whole process. Lowering needs no privilege; a thread that
 * ended meanwhile is skipped. Undefined when there was nothing to lower.
 *
 * Where the kernel groups processes by session for scheduling (`kernel.sched_autogroup_enabled`,
 * on in Debian's and Ubuntu's kernels), a nice value only ranks threads within one session, and
 * each supervised role runs in a session of its own (cli/child-role.ts): there the session's
 * group is lowered as well (`/proc/self/autogroup`), but only when this process leads its own
 * session (as a supervised role or a service does), so that a worker started from a shell never
 * lowers the shell.
 */
export function lowerCpuPriority(steps: number): LoweredPriority | undefined {
  if (steps <= 0) return undefined;
  const nice = Math.min(19, getPriority() + steps);
  const threadIds = process.platform === 'linux' ? listOwnThreads() : undefined;
  if (threadIds === undefined) {
    // Off Linux, or no /proc to list the threads in: the calling thread, and those it starts from now on.
    setPriority(nice);
    return { nice, threads: 1, autogroup: false };
  }
  let threads = 0;
  for (const thread of threadIds) {
    try {
      // Only ever down: a thread already below `nice` (one a parse pool lowered) stays there.
      if (getPriority(thread) < nice) setPriority(thread, nice);
      threads += 1;
    } catch {
      // The thread ended between the listing and the call.
    }
  }
  return { nice, threads, autogroup: lowerOwnAutogroup(nice) };
}

/** This process's thread ids, from /proc/self/task; undefined where that cannot be read. */
function listOwnThreads(): number[] | undefined {
  try {
    return readdirSync('/proc/self/task').map(Number);
  } catch {
    return undefined;
  }
}

/** The session id of this process: field 6 of /proc/self/stat, after the command name in parentheses. */
function sessionId(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[3]);
}

function lowerOwnAutogroup(nice: number): boolean {
  if (!existsSync('/proc/self/autogroup')) return false;
  try {
    if (sessionId() !== process.pid) return false;
    const current = /nice (-?\d+)/.exec(readFileSync('/proc/self/autogroup', 'utf8'));
    if (current !== null && Number(current[1]) >= nice) return true;
    writeFileSync('/proc/self/autogroup', String(nice));
    return true;
  } catch {
    // A kernel without autogroups, or one that refuses the write: the threads are lowered anyway.
    return false;
  }
}
