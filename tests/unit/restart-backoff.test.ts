import t from 'tap';
import { RESTART_BASE_MS, RESTART_CAP_MS, restartDelayMs } from '../../cli/restart-backoff.ts';

t.test('restart delays double from the base to the cap, each in its upper half', async (t) => {
  t.equal(restartDelayMs(0, () => 1), RESTART_BASE_MS);
  t.equal(restartDelayMs(0, () => 0), RESTART_BASE_MS / 2, 'jitter halves at most');
  t.equal(restartDelayMs(3, () => 1), RESTART_BASE_MS * 8);
  t.equal(restartDelayMs(20, () => 1), RESTART_CAP_MS, 'capped');
  t.equal(restartDelayMs(1000, () => 0), RESTART_CAP_MS / 2, 'a long crash loop stays capped, without overflow');
  const draws = new Set(Array.from({ length: 20 }, () => restartDelayMs(2)));
  t.ok(draws.size > 1, 'roles that crash together do not come back together');
});
