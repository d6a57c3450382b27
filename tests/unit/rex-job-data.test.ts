/** What the REX queues hold is checked against the contracts when read back from Redis. */
import t from 'tap';
import { batchDataOf, rexJobDataOf, storedJobState } from '../../hub/jobs/rex-job-data.ts';

t.test('a stored job state BullMQ may answer is kept; anything else is unknown', async (t) => {
  t.equal(storedJobState('waiting-children'), 'waiting-children');
  t.equal(storedJobState('completed'), 'completed');
  t.equal(storedJobState('something-new'), 'unknown');
});

t.test('job data outside its contract fails by name, with the field', async (t) => {
  t.throws(() => rexJobDataOf({ id: 'p1', data: { planId: 'p1', batchId: 'b1', actionClass: 'X', launchedAt: 1 } }), { code: 'PROXYHUB_EVENT_INVALID', message: /rex job p1: data\.input/ });
  t.throws(() => batchDataOf({ id: 'b1', data: { batchId: 'b1', launchedAt: 1 } }), { code: 'PROXYHUB_EVENT_INVALID', message: /rex batch b1: data\.planIds/ });
  t.strictSame(batchDataOf({ id: 'b1', data: { batchId: 'b1', planIds: ['p1'], launchedAt: 1 } }).planIds, ['p1']);
});
