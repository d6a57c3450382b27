/**
 * The thread side of a thread pool: a module run in a worker thread calls `serveTasks` once with
 * its handler; each task message gets one answer, the value or the error as a record.
 */
import { parentPort } from 'node:worker_threads';
import { toErrorRecord, type ErrorRecord } from './thread-errors.ts';

export interface TaskMessage<I> {
  readonly id: number;
  readonly input: I;
}

export type AnswerMessage<O> = { readonly id: number; readonly ok: true; readonly value: O } | { readonly id: number; readonly ok: false; readonly error: ErrorRecord };

export function serveTasks<I, O>(handler: (input: I) => O | Promise<O>): void {
  const port = parentPort;
  if (port === null) throw new Error('serveTasks runs in a worker thread only');
  port.on('message', (message: TaskMessage<I>) => {
    void (async () => {
      let answer: AnswerMessage<O>;
      try {
        answer = { id: message.id, ok: true, value: await handler(message.input) };
      } catch (error) {
        answer = { id: message.id, ok: false, error: toErrorRecord(error) };
      }
      port.postMessage(answer);
    })();
  });
}
