/**
 * A bounded pool of worker threads for CPU-heavy parsing, so that a large body never holds the
 * event loop that answers clients, heartbeats the broker and takes other deliveries. Threads
 * start on first use (an ingress that never sees a large report never pays for one) and are
 * replaced when one dies; tasks beyond the threads wait in a queue of bounded length, and past
 * it `run()` refuses at once with PROXYHUB_PARSE_QUEUE_FULL (503, retryable) instead of letting
 * work pile up in memory.
 */
import { Worker } from 'node:worker_threads';
import { ProxyhubError } from '../../contracts/errors.ts';
import type { Logger } from '../log/logger.ts';
import type { AnswerMessage, TaskMessage } from './serve-tasks.ts';
import { fromErrorRecord } from './thread-errors.ts';

export interface ThreadPoolOptions {
  /** Names the threads (in logs, `top -H`) and the errors. */
  readonly name: string;
  /** The module a thread runs: it calls `serveTasks`. Use `threadModule()` to name it. */
  readonly module: URL;
  /** Threads at most (PROXYHUB_PARSE_THREADS). */
  readonly size: number;
  /** Tasks waiting for a free thread at most (PROXYHUB_PARSE_QUEUE_LIMIT). */
  readonly queueLimit: number;
  /**
   * How much lower than its process's the CPU priority of each thread is (Linux nice steps;
   * PROXYHUB_PARSE_THREAD_NICENESS). @defaultValue 0
   */
  readonly niceness?: number | undefined;
  readonly logger?: Logger | undefined;
}

export interface ThreadPool<I, O> {
  run(input: I): Promise<O>;
  /** Tasks running or waiting. */
  readonly pending: number;
  /** Refuses what waits and ends the threads; a task still running is rejected. */
  close(): Promise<void>;
}

/**
 * A module next to `base` (pass `import.meta.url`), as this build names it: the sources run
 * through tsx as `.ts`, the build in dist/ as `.js` (tsc rewrites import specifiers, not URLs).
 */
export function threadModule(base: string, name: string): URL {
  return new URL(`./${name}${base.endsWith('.ts') ? '.ts' : '.js'}`, base);
}

/**
 * What a thread runs first.
 *
 * It lowers its own CPU priority first, when asked: a parse is long work that no one waits on
 * as eagerly as on the event loops of the same machine (the ingress answering hosts, the control
 * answering Foreman, this process's own broker heartbeats), so under contention the scheduler
 * gives them the core first and the parse takes the rest, instead of sharing it evenly. Linux
 * keeps a nice value per thread, so this touches no other thread of the process (elsewhere the
 * call would lower the whole process, so the pool asks only on Linux).
 *
 * A worker thread does not inherit the TypeScript loader the main thread was started with (Node
 * 20 neither for `register()` nor for `--import`), so a `.ts` module is loaded after registering
 * one in the thread; the compiled `.js` needs nothing. The loader is the process's own when it
 * names one in PROXYHUB_TS_LOADER (the tests' esbuild loader does: a file compiled twice,
 * differently, in one process would corrupt its coverage), else tsx.
 */
const BOOTSTRAP = `
const { workerData } = require('node:worker_threads');
if (workerData.niceness > 0) {
  const os = require('node:os');
  os.setPriority(Math.min(19, os.getPriority() + workerData.niceness));
}
(async () => {
  if (workerData.ownLoader !== undefined) await import(workerData.ownLoader);
  else if (workerData.tsx !== undefined) (await import(workerData.tsx)).register();
  await import(workerData.module);
})();
`;

function typescriptLoader(module: URL): { tsx?: string; ownLoader?: string } {
  if (!module.href.endsWith('.ts')) return {};
  const own = process.env.PROXYHUB_TS_LOADER;
  return own ? { ownLoader: own } : { tsx: import.meta.resolve('tsx/esm/api') };
}

interface Task<I, O> {
  readonly id: number;
  readonly input: I;
  readonly resolve: (value: O) => void;
  readonly reject: (error: Error) => void;
}

interface Slot<I, O> {
  readonly worker: Worker;
  task: Task<I, O> | undefined;
}

export function createThreadPool<I, O>(options: ThreadPoolOptions): ThreadPool<I, O> {
  if (options.size < 1) throw new Error('a thread pool needs at least one thread');
  const slots: Array<Slot<I, O>> = [];
  const waiting: Array<Task<I, O>> = [];
  const niceness = process.platform === 'linux' ? (options.niceness ?? 0) : 0;
  const workerData = { module: options.module.href, niceness, ...typescriptLoader(options.module) };
  let nextId = 1;
  let closed = false;

  const settle = (slot: Slot<I, O>): Task<I, O> | undefined => {
    const task = slot.task;
    slot.task = undefined;
    // An idle thread must not keep the process alive; a busy one does, as a socket would.
    slot.worker.unref();
    return task;
  };
  const spawn = (): Slot<I, O> => {
    const slot: Slot<I, O> = { worker: new Worker(BOOTSTRAP, { eval: true, workerData, name: options.name }), task: undefined };
    slot.worker.on('message', (answer: AnswerMessage<O>) => {
      if (slot.task?.id !== answer.id) return;
      const task = settle(slot);
      if (answer.ok) task?.resolve(answer.value);
      else task?.reject(fromErrorRecord(answer.error));
      dispatch();
    });
    const died = (reason: string): void => {
      const index = slots.indexOf(slot);
      if (index < 0) return;
      slots.splice(index, 1);
      const task = settle(slot);
      if (closed) return;
      options.logger?.warn({ pool: options.name, reason, busy: task !== undefined }, 'a parse thread ended; the next task starts a new one');
      task?.reject(new ProxyhubError('PROXYHUB_INTERNAL', `${options.name} thread ended while working: ${reason}`));
      dispatch();
    };
    slot.worker.on('error', (error) => died(error.message));
    slot.worker.on('exit', (code) => died(`exit code ${code}`));
    slots.push(slot);
    return slot;
  };
  const dispatch = (): void => {
    while (waiting.length > 0 && !closed) {
      const slot = slots.find((candidate) => candidate.task === undefined) ?? (slots.length < options.size ? spawn() : undefined);
      const task = slot === undefined ? undefined : waiting.shift();
      if (slot === undefined || task === undefined) return;
      slot.task = task;
      slot.worker.ref();
      slot.worker.postMessage({ id: task.id, input: task.input } satisfies TaskMessage<I>);
    }
  };
  const busy = (): number => slots.filter((slot) => slot.task !== undefined).length;

  return {
    run(input) {
      if (closed) return Promise.reject(new ProxyhubError('PROXYHUB_INTERNAL', `${options.name} pool is closed`));
      if (busy() >= options.size && waiting.length >= options.queueLimit) {
        return Promise.reject(new ProxyhubError('PROXYHUB_PARSE_QUEUE_FULL', `${options.size} ${options.name} threads are busy and ${waiting.length} tasks wait (PROXYHUB_PARSE_QUEUE_LIMIT)`));
      }
      return new Promise<O>((resolve, reject) => {
        waiting.push({ id: nextId++, input, resolve, reject });
        dispatch();
      });
    },
    get pending() {
      return busy() + waiting.length;
    },
    async close() {
      closed = true;
      const refused = new ProxyhubError('PROXYHUB_INTERNAL', `${options.name} pool closed`);
      for (const task of waiting.splice(0)) task.reject(refused);
      await Promise.all(slots.map(async (slot) => {
        settle(slot)?.reject(refused);
        await slot.worker.terminate();
      }));
      slots.length = 0;
    },
  };
}
