/**
 * A REX host job as the status page lists it: where and in which state, never what it runs.
 */
import type { JobInFlight } from '../../../contracts/http/status-page.ts';
import type { RexJobView } from '../../jobs/rex-job-store.ts';

export function jobInFlight(job: RexJobView): JobInFlight {
  return {
    planId: job.id,
    host: job.data.input.hostname,
    state: job.state,
    step: job.progress?.state ?? 'queued',
    launchedAt: new Date(job.createdAt).toISOString(),
    foremanTask: String(job.data.input.callback.task_id),
  };
}
