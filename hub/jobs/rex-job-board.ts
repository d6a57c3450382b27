/**
 * The REX queues as bull-board shows them on the control listener's status page: read-only, and
 * every job's data through the contracts' allow-list (no script, no secret). Built here because
 * hub/jobs is the one place that holds BullMQ queues.
 */
import type { BaseAdapter } from '@bull-board/api/baseAdapter';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { carriesInput, redactedJobData } from '../../contracts/rex/job-redaction.ts';
import { rexQueueNames } from '../../contracts/topology.ts';
import type { RexJobStore } from './rex-job-store.ts';

export function rexJobBoardQueues(store: Pick<RexJobStore, 'jobs' | 'batches' | 'callbacks'>): BaseAdapter[] {
  return [store.jobs, store.batches, store.callbacks].map((queue) => {
    const adapter = new BullMQAdapter(queue, { readOnlyMode: true, allowRetries: false });
    // The batch and callback queues hold ids only; anything that carries an input is redacted
    // wherever it sits, so a job written to another queue by mistake cannot show its secrets.
    adapter.setFormatter('data', (data: unknown) => (queue.name === rexQueueNames.jobs || carriesInput(data) ? redactedJobData(data) : data));
    return adapter;
  });
}
