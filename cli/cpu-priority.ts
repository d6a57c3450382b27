/**
 * A process that only delivers work its hosts were already answered for (facts, reports) runs at
 * a lower CPU priority (`PROXYHUB_WORKER_NICENESS`). Co-located with an ingress on a machine
 * short of CPU, the scheduler then serves the event loop that answers hosts first, and the
 * deliveries take what is left: their uploads wait durably in the queue meanwhile, while an
 * ingress starved of CPU would refuse new ones or answer them late. On an idle machine nothing
 * changes: a niced process still gets every core no one else wants.
 */
import { readdirSync } from 'node:fs';
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
}

/**
 * Lowers every thread of this process by `steps` nice values (at most to 19). Linux keeps a nice
 * value per thread and a new thread inherits its creator's, so the threads running now (V8's,
 * libuv's) are lowered one by one, and those started later (a thread pool's) start lowered.
 * Elsewhere `setPriority` lowers the whole process. Lowering needs no privilege; a thread that
 * ended meanwhile is skipped. Undefined when there was nothing to lower.
 */
export function lowerCpuPriority(steps: number): LoweredPriority | undefined {
  if (steps <= 0) return undefined;
  const nice = Math.min(19, getPriority() + steps);
  if (process.platform !== 'linux') {
    setPriority(nice);
    return { nice, threads: 1 };
  }
  let threads = 0;
  for (const entry of readdirSync('/proc/self/task')) {
    const thread = Number(entry);
    try {
      // Only ever down: a thread already below `nice` (one a parse pool lowered) stays there.
      if (getPriority(thread) < nice) setPriority(thread, nice);
      threads += 1;
    } catch {
      // The thread ended between the listing and the call.
    }
  }
  return { nice, threads };
}
