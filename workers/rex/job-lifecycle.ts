/**
 * What every REX job does on its way, whatever its mode: record output chunks in order (job
 * logs in Redis) and announce each one as `rex.job.output.v1`; when it ends, record the result,
 * queue Foreman's callback (idempotent per plan) and announce `rex.job.finished.v1`. Events are
 * informational: published without waiting, so a slow or absent broker never holds a job.
 */
import { createEvent } from '../../contracts/events/create-event.ts';
import type { EventData, EventType } from '../../contracts/events/registry.ts';
import type { ErrorCode } from '../../contracts/errors.ts';
import { epochSeconds, type ExitStatus, type OutputChunk, type RexJobData, type RexProgress, type RexResult } from '../../contracts/rex/job.ts';
import { encodeEvent } from '../../hub/bus/event-codec.ts';
import type { Logger } from '../../hub/log/logger.ts';
import type { RexJobStore } from '../../hub/jobs/rex-job-store.ts';
import type { Publisher } from '../../hub/bus/transport.ts';
import type { ForemanClient } from '../runtime/foreman-client.ts';
import { pullHostName } from '../../contracts/rex/launch.ts';
import { errorMessage } from '../../contracts/errors.ts';

export interface LifecycleDeps {
  readonly store: RexJobStore;
  readonly publisher: Publisher;
  readonly eventsExchange: string;
  readonly source: string;
  readonly logger: Logger;
}

export interface JobRecorder {
  output(type: OutputChunk['output_type'], text: string): void;
  /** Resolves once every chunk so far is in Redis. */
  flushed(): Promise<void>;
}

export interface Ending {
  readonly exitStatus: ExitStatus;
  readonly code?: ErrorCode | undefined;
  readonly reason?: string | undefined;
}

export function createLifecycle(deps: LifecycleDeps) {
  function announce<T extends EventType>(type: T, data: EventData<T>, subject: string): void {
    deps.publisher.publish(encodeEvent(createEvent(type, data, { source: deps.source, subject }), deps.eventsExchange, { mandatory: false })).catch((error: unknown) => {
      deps.logger.debug({ err: String(error), type }, 'rex event not published');
    });
  }

  function recorder(data: RexJobData): JobRecorder {
    let writes: Promise<unknown> = Promise.resolve();
    return {
      output(type, text) {
        const chunk: OutputChunk = { output_type: type, output: text, timestamp: epochSeconds(Date.now()) };
        // debug chunks are the worker's own notices (why a job stopped): kept past the output cap.
        writes = writes
          .then(async () => announceStored(data, await deps.store.appendOutput(data.planId, chunk, type === 'debug' ? 'notice' : 'counted')))
          .catch((error: unknown) => deps.logger.warn({ err: String(error), planId: data.planId }, 'output chunk not stored'));
      },
      flushed: () => writes.then(() => undefined),
    };
  }

  /** Events carry what was stored, so that past the output cap they stop too. */
  function announceStored(data: RexJobData, chunks: readonly OutputChunk[]): void {
    for (const chunk of chunks) announce('rex.job.output.v1', { planId: data.planId, batchId: data.batchId, hostname: data.input.hostname, chunk }, data.planId);
  }

  /** A chunk a pull host reported (with its own timestamp): stored within the cap, then announced. */
  async function hostChunk(data: RexJobData, chunk: OutputChunk): Promise<void> {
    announceStored(data, await deps.store.appendOutput(data.planId, chunk));
  }

  /** Records how the job ended and queues the callback; returns the job's result. */
  async function finish(data: RexJobData, progress: RexProgress | undefined, ending: Ending): Promise<RexResult> {
    const at = progress?.exit?.at ?? Date.now();
    const result: RexResult = { exit_status: ending.exitStatus, exit_status_timestamp: epochSeconds(at), ...(ending.reason ? { reason: ending.reason } : {}) };
    await deps.store.setProgress(data.planId, { ...(progress ?? { state: 'queued' }), state: 'finished', exit: { status: ending.exitStatus, at, ...(ending.reason ? { reason: ending.reason } : {}) } });
    await deps.store.enqueueCallback({ planId: data.planId, callback: { task_id: data.input.callback.task_id, step_id: data.input.callback.step_id }, result });
    await deps.store.removeHostJob(pullHostName(data.input), data.planId).catch(() => undefined);
    await deps.store.clearPullInFlight(data.planId).catch(() => undefined);
    announce('rex.job.finished.v1', { planId: data.planId, batchId: data.batchId, hostname: data.input.hostname, exitStatus: ending.exitStatus, exitStatusTimestamp: result.exit_status_timestamp, ...(ending.reason ? { reason: ending.reason } : {}) }, data.planId);
    deps.logger.info({ planId: data.planId, host: data.input.hostname, exitStatus: ending.exitStatus, code: ending.code, reason: ending.reason }, 'rex job finished');
    return result;
  }

  return { recorder, finish, hostChunk };
}

export type Lifecycle = ReturnType<typeof createLifecycle>;

/** Sends one callback with the output recorded so far; throws (to be retried) unless Foreman took it. */
export function createCallbackSender(store: RexJobStore, foreman: ForemanClient, logger: Logger) {
  return async (job: { planId: string; callback: { task_id: string | number; step_id: number }; result: RexResult }): Promise<void> => {
    const output = await store.output(job.planId);
    const data = { result: output, exit_status: job.result.exit_status, exit_status_timestamp: job.result.exit_status_timestamp };
    try {
      await foreman.post('/foreman_tasks/api/tasks/callback', { callback: job.callback, data });
    } catch (error) {
      logger.warn({ err: errorMessage(error), planId: job.planId }, 'Foreman did not take the callback; retrying');
      throw error;
    }
  };
}
