/**
 * A REX job shown the way smart_proxy_dynflow shows an execution plan (foreman-contracts.md
 * §2.3): `id, state, result, started_at, ended_at, …` plus `actions: [{class, input, output}]`,
 * where Foreman picks the action whose `input.task_id` is its own task id and reads the output
 * chunks and exit status from `output`.
 */
import type { OutputChunk } from '../../contracts/rex/job.ts';
import type { RexBatchView, RexJobView } from '../jobs/rex-job-store.ts';

type Plan = Record<string, unknown>;

const iso = (ms: number | undefined): string | null => (ms === undefined ? null : new Date(ms).toISOString());
const finished = (state: string): boolean => state === 'completed' || state === 'failed';

/** Dynflow's `state` and `result` for a job. */
export function planState(job: Pick<RexJobView, 'state' | 'result' | 'failedReason'>): { state: string; result: string } {
  if (!finished(job.state)) return { state: 'running', result: 'pending' };
  const ok = job.state === 'completed' && job.result !== undefined && job.result.exit_status !== 'EXCEPTION';
  return { state: 'stopped', result: ok ? 'success' : 'error' };
}

/** `action_input` as Foreman sent it, less the secrets, plus the `task_id` Foreman looks for. */
function publicInput(job: RexJobView): Record<string, unknown> {
  const { secrets: _secrets, ...input } = job.data.input;
  return { ...input, task_id: job.data.input.callback.task_id, proxy_operation_name: 'ssh' };
}

function actionOutput(job: RexJobView, output: readonly OutputChunk[]): Record<string, unknown> {
  const exit = job.result ?? (job.state === 'failed' ? { exit_status: 'EXCEPTION' as const, exit_status_timestamp: (job.finishedAt ?? Date.now()) / 1000, reason: job.failedReason } : undefined);
  return {
    proxy_task_id: job.id,
    runner_id: job.id,
    result: output,
    ...(job.progress ? { state: job.progress.state } : {}),
    ...(exit ? { exit_status: exit.exit_status, exit_status_timestamp: exit.exit_status_timestamp, ...(exit.reason ? { reason: exit.reason } : {}) } : {}),
  };
}

export function jobPlan(job: RexJobView, output: readonly OutputChunk[]): Plan {
  const { state, result } = planState(job);
  const started = job.progress?.startedAt ?? job.startedAt;
  return {
    id: job.id,
    state,
    result,
    label: job.data.actionClass,
    started_at: iso(started ?? job.createdAt),
    ended_at: finished(job.state) ? iso(job.finishedAt) : null,
    execution_time: finished(job.state) && started !== undefined && job.finishedAt !== undefined ? (job.finishedAt - started) / 1000 : null,
    real_time: finished(job.state) && job.finishedAt !== undefined ? (job.finishedAt - job.createdAt) / 1000 : null,
    parent_task_id: job.data.batchId,
    actions: [
      {
        class: job.data.actionClass,
        id: 1,
        state: state === 'stopped' ? result : 'running',
        input: publicInput(job),
        output: actionOutput(job, output),
      },
    ],
  };
}

export function batchPlan(batch: RexBatchView): Plan {
  const done = finished(batch.state);
  return {
    id: batch.id,
    state: done ? 'stopped' : 'running',
    result: done ? (batch.state === 'completed' ? 'success' : 'error') : 'pending',
    label: 'Proxy::Dynflow::Action::Batch',
    started_at: iso(batch.createdAt),
    ended_at: done ? iso(batch.finishedAt) : null,
    actions: [{ class: 'Proxy::Dynflow::Action::Batch', id: 1, input: { task_ids: batch.planIds }, output: {} }],
  };
}
