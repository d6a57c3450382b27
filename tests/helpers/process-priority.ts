/**
 * Reading a process's CPU priority back from /proc (Linux): the nice value of each of its threads,
 * and the line of its scheduling autogroup (`/autogroup-<n> nice <v>`), absent where the kernel
 * has none.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { getPriority } from 'node:os';

/** The nice value of every thread of a process (Linux keeps one per thread). */
export function threadNiceValues(pid: number | 'self'): number[] {
  return readdirSync(`/proc/${pid}/task`).map((thread) => getPriority(Number(thread)));
}

/** Its autogroup's line, or null on a kernel without autogroups. */
export function autogroupLine(pid: number | 'self'): string | null {
  const path = `/proc/${pid}/autogroup`;
  return existsSync(path) ? readFileSync(path, 'utf8').trim() : null;
}

/** The nice value in an autogroup line. */
export function autogroupNice(line: string | null): number | undefined {
  return line === null ? undefined : Number(/nice (-?\d+)/.exec(line)?.[1]);
}
