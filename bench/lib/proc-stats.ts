/**
 * Reads /proc (Linux only) while a scenario runs: the peak resident set of the process under
 * test, sampled every 200 ms as an operator's monitoring would see it, and the CPU time each
 * participant used, which is what tells us who the bottleneck is on a 2-core machine.
 */
import { readFileSync, readdirSync } from 'node:fs';

const CLOCK_TICKS_PER_SEC = 100; // USER_HZ; 100 on every Linux architecture Node supports
const SAMPLE_MS = 200;

/** Resident set in bytes, from `VmRSS` (or `VmHWM` for the process's lifetime peak). */
export function readMemory(pid: number, field: 'VmRSS' | 'VmHWM' = 'VmRSS'): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    return match?.[1] === undefined ? null : Number(match[1]) * 1024;
  } catch {
    return null; // the process has exited
  }
}

/** The fields of /proc/<pid>/stat after the command name, from `state` (field 3) on. Throws when the process is gone. */
function statFields(pid: number | string): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name may contain spaces and parentheses; the fields after the last ')' do not.
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/**
 * User + system CPU ticks of a process, or null when it is gone; with `children`, also those of
 * the child processes it has waited for (a helper it spawns does the process's work too).
 */
function readCpuTicks(pid: number, children = false): number | null {
  try {
    const fields = statFields(pid);
    const own = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 of stat)
    return children ? own + Number(fields[13]) + Number(fields[14]) : own; // cutime, cstime
  } catch {
    return null;
  }
}

/**
 * User + system CPU seconds a process (all its threads, and the children it has waited for) has
 * used so far, or null when it is gone.
 */
export function cpuSecondsOf(pid: number): number | null {
  const ticks = readCpuTicks(pid, true);
  return ticks === null ? null : ticks / CLOCK_TICKS_PER_SEC;
}

function readMachineTicks(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  const total = values.reduce((sum, v) => sum + v, 0);
  const idle = (values[3] ?? 0) + (values[4] ?? 0); // idle + iowait
  return { busy: total - idle, total };
}

/**
 * The RabbitMQ node's Erlang VM on this machine: the process whose program is beam and whose
 * arguments boot the rabbit application (`-s rabbit boot`), so that neither a shell nor a CLI
 * tool's own VM (rabbitmq-diagnostics starts one) is taken for it. With several such nodes (the
 * tests' extra cluster nodes), the one started first.
 */
export function findBrokerPid(): number | null {
  let found: { pid: number; startedAt: number } | null = null;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const [program = '', ...args] = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      const bootsRabbit = args.some((arg, index) => arg === '-s' && args[index + 1] === 'rabbit' && args[index + 2] === 'boot');
      if (!program.includes('beam') || !bootsRabbit) continue;
      const startedAt = Number(statFields(entry)[19]);
      if (found === null || startedAt < found.startedAt) found = { pid: Number(entry), startedAt };
    } catch {
      // raced with an exiting process
    }
  }
  return found?.pid ?? null;
}

/** The role children of a supervised `proxyhub start` (`--role <role> --supervised`), by role; an ingress's own processes as `ingress#<n>`. */
export function roleChildrenOf(supervisorPid: number): Record<string, number> {
  const roleProcesses: Array<{ pid: number; ppid: number; role: string }> = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const role = /--role\0([^\0]+)\0--supervised/.exec(readFileSync(`/proc/${entry}/cmdline`, 'utf8'))?.[1];
      if (role !== undefined) roleProcesses.push({ pid: Number(entry), ppid: Number(statFields(entry)[1]), role });
    } catch {
      // raced with an exiting process
    }
  }
  const children: Record<string, number> = {};
  for (const child of roleProcesses.filter((p) => p.ppid === supervisorPid)) {
    children[child.role] = child.pid;
    // An ingress of several processes (PROXYHUB_INGRESS_PROCESSES): its processes are the role
    // child's own children, named `ingress#1`, `ingress#2`, ...
    roleProcesses.filter((p) => p.ppid === child.pid).forEach((grandchild, index) => (children[`${child.role}#${index + 1}`] = grandchild.pid));
  }
  return children;
}

export interface WatchReport {
  readonly peakRssBytes: Readonly<Record<string, number>>;
  /** % of one core over the watched window. */
  readonly cpuPercent: Readonly<Record<string, number>>;
  /** % of all cores. */
  readonly machineBusyPercent: number;
}

/** Samples the given processes from now until stop(); a process that exits keeps its last sample. */
export function watchProcesses(pids: Readonly<Record<string, number>>): { stop(): WatchReport } {
  const startedAt = performance.now();
  const machineStart = readMachineTicks();
  const first: Record<string, number> = {};
  const last: Record<string, { ticks: number; at: number }> = {};
  const peaks: Record<string, number> = {};
  const sample = (): void => {
    for (const [role, pid] of Object.entries(pids)) {
      const rss = readMemory(pid);
      if (rss !== null && rss > (peaks[role] ?? 0)) peaks[role] = rss;
      const ticks = readCpuTicks(pid);
      if (ticks !== null) last[role] = { ticks, at: performance.now() };
    }
  };
  sample();
  for (const [role, seen] of Object.entries(last)) first[role] = seen.ticks;
  const timer = setInterval(sample, SAMPLE_MS);
  return {
    stop() {
      clearInterval(timer);
      sample();
      const cpuPercent: Record<string, number> = {};
      for (const [role, seen] of Object.entries(last)) {
        const seconds = (seen.at - startedAt) / 1000;
        const before = first[role];
        if (before !== undefined && seconds > 0) cpuPercent[role] = ((seen.ticks - before) / CLOCK_TICKS_PER_SEC / seconds) * 100;
      }
      const machineEnd = readMachineTicks();
      const machineBusyPercent = ((machineEnd.busy - machineStart.busy) / Math.max(1, machineEnd.total - machineStart.total)) * 100;
      return { peakRssBytes: peaks, cpuPercent, machineBusyPercent };
    },
  };
}

/** % of all cores busy over the next `ms`: a check that the machine is quiet before measuring. */
export async function machineBusyOver(ms: number): Promise<number> {
  const before = readMachineTicks();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const after = readMachineTicks();
  return ((after.busy - before.busy) / Math.max(1, after.total - before.total)) * 100;
}

/**
 * Waits until a process uses under `maxPercent` of a core over a second (up to `timeoutMs`);
 * returns the seconds waited. Deleting a queue of a few hundred thousand messages keeps the
 * broker busy for seconds, which the next scenario would otherwise pay for.
 */
export async function waitUntilIdle(pid: number, maxPercent = 5, timeoutMs = 20_000): Promise<number> {
  const startedAt = performance.now();
  while (performance.now() - startedAt < timeoutMs) {
    const before = readCpuTicks(pid);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const after = readCpuTicks(pid);
    if (before === null || after === null || after - before <= maxPercent) break; // ticks/s = % of a core
  }
  return (performance.now() - startedAt) / 1000;
}
