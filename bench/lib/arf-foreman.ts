/**
 * bench/arf-foreman-server.ts in a process of its own, with its one-line-per-report output turned
 * into a count the worker phase can watch: each report is timed as Foreman answers it.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { track, waitReady, type ServerProcess } from './servers.ts';

export interface ExpectedReport {
  readonly metrics: { readonly passed: number; readonly failed: number; readonly othered: number };
  readonly logs: number;
}

export interface ArfForeman extends ServerProcess {
  /** Reports answered so far. */
  delivered(): number;
  /** Reports that did not read as the fixture does (with why), for the run's check. */
  wrong(): readonly string[];
  /** Called on every report, with the count so far, as its line arrives. */
  onDelivered(listener: (delivered: number) => void): void;
}

const SCRIPT = fileURLToPath(new URL('../arf-foreman-server.ts', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export async function startArfForeman(expected: ExpectedReport): Promise<ArfForeman> {
  const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT, JSON.stringify(expected)], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const server = track(child, '');
  let url: string | undefined;
  let delivered = 0;
  const wrong: string[] = [];
  const listeners: Array<(delivered: number) => void> = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    const listening = /^listening (\S+)$/.exec(line);
    if (listening) url = listening[1];
    const report = /^arf (\d+) (ok|wrong (.*))$/.exec(line);
    if (!report) return;
    delivered = Number(report[1]);
    if (report[3] !== undefined) wrong.push(`report ${delivered}: ${report[3]}`);
    for (const listener of listeners) listener(delivered);
  });
  await waitReady(server, child, 'stand-in Foreman listening', async () => url !== undefined);
  return {
    ...server,
    url: url ?? '',
    delivered: () => delivered,
    wrong: () => wrong,
    onDelivered: (listener) => void listeners.push(listener),
  };
}
