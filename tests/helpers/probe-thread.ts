/**
 * A parse-thread module for testing the pool itself: answers with its thread id or its own CPU
 * priority (nice value), fails with a catalog error, throws a plain error, or ends its thread (as
 * an out-of-memory abort would).
 */
import { getPriority } from 'node:os';
import { threadId } from 'node:worker_threads';
import { ProxyhubError } from '../../contracts/errors.ts';
import { serveTasks } from '../../hub/threads/serve-tasks.ts';

export type ProbeTask = 'thread-id' | 'nice' | 'catalog-error' | 'plain-error' | 'exit' | { readonly busyMs: number };

serveTasks<ProbeTask, number>((task) => {
  if (task === 'catalog-error') throw new ProxyhubError('PROXYHUB_INPUT_MALFORMED', 'bad body', { field: 'body.logs', location: 'body' });
  if (task === 'plain-error') throw new RangeError('out of range');
  if (task === 'nice') return getPriority();
  if (task === 'exit') process.exit(3);
  if (typeof task === 'object') {
    const until = Date.now() + task.busyMs;
    while (Date.now() < until);
  }
  return threadId;
});
