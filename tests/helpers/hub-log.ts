/**
 * Reading what a `proxyhub` child process logged (tests/helpers/hub-harness.ts spawnHub): its
 * pino JSON lines, and the pids its supervisor reported for each role or ingress process.
 */
import type { ChildHub } from './hub-harness.ts';

/** The fields of a log line these tests read; any line may carry any of them. */
export interface HubLogLine {
  /** pino's level: 40 warn, 50 error, 60 fatal. */
  readonly level?: number;
  readonly msg?: string;
  readonly pid?: number;
  readonly childPid?: number;
  readonly role?: string;
  readonly route?: string;
  readonly plan?: readonly string[];
  readonly children?: ReadonlyArray<{ role: string; pid: number }>;
}

/** Every JSON line the child wrote so far (anything else it printed is skipped). */
export function hubLogLines(hub: ChildHub): HubLogLine[] {
  return hub.output.join('').split('\n').flatMap((line) => {
    try {
      return [JSON.parse(line) as HubLogLine];
    } catch {
      return [];
    }
  });
}

/** Every child pid the supervisor reported, the first ones and the restarted ones. */
export function supervisedPids(hub: ChildHub): number[] {
  return hubLogLines(hub).flatMap((line) => [...(line.children ?? []).map((child) => child.pid), ...(line.msg?.endsWith(' restarted') && line.childPid !== undefined ? [line.childPid] : [])]);
}

/** The pid of the process running `name` (a role, or `ingress#<n>`) now, as the supervisor last reported it. */
export function supervisedPidOf(hub: ChildHub, name: string): number | undefined {
  const lines = hubLogLines(hub);
  const restarted = lines.filter((line) => line.msg === `role ${name} restarted`).at(-1);
  return restarted?.childPid ?? lines.find((line) => line.msg === 'proxyhub started')?.children?.find((child) => child.role === name)?.pid;
}

/** The pids of the processes behind the facts uploads' access log lines (written within a second of the answer). */
export function factsAnswerPids(hub: ChildHub): number[] {
  return hubLogLines(hub).flatMap((line) => (line.msg === 'request' && line.route === '/api/v2/hosts/facts' && line.pid !== undefined ? [line.pid] : []));
}
