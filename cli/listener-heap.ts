/**
 * A process that only answers requests (an ingress, a control listener) keeps its heap close to
 * what it holds live. Under load, the objects of requests still waiting for the broker's confirm
 * outlive a young collection and are moved to the old generation, where they die a few
 * milliseconds later. V8 lets that generation grow to several times its live size before the
 * next full collection when it sees a high allocation rate, which is what made a busy ingress
 * take 130–170 MiB while holding about 25 MiB live. A lower growth step collects that garbage
 * sooner: the full collections stay cheap (they mark only what is live, concurrently, and what
 * is live is small) and the process stays near 100 MiB.
 *
 * Workers are left to V8: the openscap parse threads hold megabytes of XML per report, and a
 * tight old generation would make them collect often for no memory a host would notice.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { RoleSet } from '../hub/config/roles.ts';

/** True for a process whose roles are listeners only (ingress, control), no workers. */
export function runsListenersOnly(roles: RoleSet): boolean {
  return (roles.ingress || roles.control) && roles.workers.length === 0;
}

/**
 * From now on the old generation is collected once it grows `percent` % past what survived the
 * previous full collection (V8 reads the flag at each collection; it applies to the process's
 * threads too). False when `percent` is 0: V8's own heuristics.
 *
 * One full collection is made at once: the limit in force until the first one was set when the
 * heap was, without this step, and under load would let the old generation reach V8's own size
 * once (about 40 MiB against 28). The call costs a few ms, before the listener opens.
 */
export function capHeapGrowth(percent: number): boolean {
  if (percent <= 0) return false;
  setFlagsFromString(`--heap-growing-percent=${percent}`);
  // `gc` is only given to contexts made after the flag; calling it collects the whole heap.
  setFlagsFromString('--expose-gc');
  const collect = runInNewContext('typeof gc === "function" ? gc : undefined') as (() => void) | undefined;
  setFlagsFromString('--no-expose-gc');
  // A Node that no longer hands `gc` out this way still caps the growth, from the first collection on.
  collect?.();
  return true;
}
