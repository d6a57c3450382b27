import t from 'tap';
import { REATTACH_BACKOFF, RECONNECT_BACKOFF, backoffDelay, withJitter } from '../../hub/bus/backoff.ts';

t.test('doubles from the first pause up to the ceiling', async (t) => {
  t.strictSame([0, 1, 2, 3, 4, 5, 6, 7].map((attempt) => backoffDelay(RECONNECT_BACKOFF, attempt)), [100, 200, 400, 800, 1600, 3200, 5000, 5000]);
  t.strictSame([0, 1, 5, 6].map((attempt) => backoffDelay(REATTACH_BACKOFF, attempt)), [500, 1000, 16_000, 30_000]);
});

t.test('stays finite and at the ceiling for any attempt count', async (t) => {
  t.equal(backoffDelay({ initialMs: 500, maxMs: 60_000 }, 10_000), 60_000);
  t.equal(backoffDelay({ initialMs: 500, maxMs: Number.MAX_SAFE_INTEGER }, 10_000), 500 * 2 ** 20, 'the doublings are capped');
  t.equal(backoffDelay(RECONNECT_BACKOFF, -1), 100, 'no attempt before the first');
});

t.test('jitter keeps the pause in its upper half', async (t) => {
  t.equal(withJitter(1000, () => 0), 500);
  t.equal(withJitter(1000, () => 0.5), 750);
  t.ok(withJitter(1000, () => 0.999) < 1000);
});
