/**
 * Runs cli/cpu-priority.ts's lowerCpuPriority in a process of its own, as a worker role does at
 * start, and prints what it changed as one JSON line: its result, the nice value of every thread
 * (one thread started before the call and one after it), and its scheduling autogroup's line.
 * argv[2]: the steps; argv[3]: a nice value to start at (as a service manager's `Nice=` would).
 */
import { setPriority } from 'node:os';
import { Worker } from 'node:worker_threads';
import { lowerCpuPriority } from '../../cli/cpu-priority.ts';
import { autogroupLine, threadNiceValues } from './process-priority.ts';

const steps = Number(process.argv[2]);
const startAt = Number(process.argv[3] ?? 0);
if (startAt > 0) setPriority(startAt);
const idleThread = (): Worker => new Worker('setInterval(() => {}, 1000)', { eval: true });
const before = idleThread();
await new Promise((resolve) => before.once('online', resolve));
const lowered = lowerCpuPriority(steps) ?? null;
const after = idleThread();
await new Promise((resolve) => after.once('online', resolve));
const threads = threadNiceValues('self');
const autogroup = autogroupLine('self');
process.stdout.write(`${JSON.stringify({ lowered, threads, autogroup })}\n`);
await Promise.all([before.terminate(), after.terminate()]);
