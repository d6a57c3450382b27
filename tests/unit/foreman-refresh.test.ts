/**
 * The Foreman refresh push: a burst of triggers is one call, a failing Foreman is retried, a
 * refusal is not, and a trigger during a call leads to exactly one more.
 */
import t from 'tap';
import { createLogger } from '../../hub/log/logger.ts';
import { createRefresher, type RefreshAnswer } from '../../hub/control/foreman-refresh.ts';
import { holdsFor, waitFor } from '../helpers/wait-for.ts';

const logger = createLogger('silent');

function recorder(answers: Array<RefreshAnswer | Error>, delayMs = 0) {
  const calls: number[] = [];
  return {
    calls,
    call: async (): Promise<RefreshAnswer> => {
      calls.push(Date.now());
      if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
      const answer = answers.shift() ?? { status: 200, body: '{}' };
      if (answer instanceof Error) throw answer;
      return answer;
    },
  };
}

t.test('a burst of changes is one refresh', async (t) => {
  const foreman = recorder([]);
  const refresher = createRefresher({ call: foreman.call, debounceMs: 50, logger });
  t.teardown(() => refresher.close());
  for (let i = 0; i < 20; i += 1) refresher.trigger();
  await waitFor(() => foreman.calls.length === 1);
  t.ok(await holdsFor(() => foreman.calls.length === 1, 300));
});

t.test('a Foreman that is down is retried until it answers; a refusal is not retried', async (t) => {
  const foreman = recorder([new Error('ECONNREFUSED'), { status: 503, body: '' }, { status: 200, body: '{}' }, { status: 422, body: 'no features' }]);
  const refresher = createRefresher({ call: foreman.call, debounceMs: 10, retryDelaysMs: [20, 40], logger });
  t.teardown(() => refresher.close());
  refresher.trigger();
  await waitFor(() => foreman.calls.length === 3, { what: 'two retries then success' });
  t.ok(await holdsFor(() => foreman.calls.length === 3, 200), 'nothing after success');
  refresher.trigger();
  await waitFor(() => foreman.calls.length === 4);
  t.ok(await holdsFor(() => foreman.calls.length === 4, 200), '422 is Foreman’s answer: not retried');
});

t.test('changes during a call lead to one more call, not one each', async (t) => {
  const foreman = recorder([], 100);
  const refresher = createRefresher({ call: foreman.call, debounceMs: 10, logger });
  t.teardown(() => refresher.close());
  refresher.trigger();
  await waitFor(() => foreman.calls.length === 1);
  for (let i = 0; i < 5; i += 1) refresher.trigger();
  await waitFor(() => foreman.calls.length === 2);
  t.ok(await holdsFor(() => foreman.calls.length === 2, 300));
});

t.test('a steady stream of changes cannot postpone the call forever', async (t) => {
  const foreman = recorder([]);
  const refresher = createRefresher({ call: foreman.call, debounceMs: 50, maxWaitMs: 150, logger });
  t.teardown(() => refresher.close());
  const ticker = setInterval(() => refresher.trigger(), 20);
  t.teardown(() => clearInterval(ticker));
  await waitFor(() => foreman.calls.length >= 1, { timeoutMs: 2000, what: 'a call despite continuous triggers' });
  clearInterval(ticker);
  t.pass('called');
});

t.test('nothing is sent while there is nothing to tell; the next trigger sends', async (t) => {
  const foreman = recorder([]);
  let ready = false;
  const refresher = createRefresher({ call: foreman.call, debounceMs: 10, ready: () => ready, logger });
  t.teardown(() => refresher.close());
  refresher.trigger();
  t.ok(await holdsFor(() => foreman.calls.length === 0, 200), 'skipped');
  ready = true;
  refresher.trigger();
  await waitFor(() => foreman.calls.length === 1);
});
