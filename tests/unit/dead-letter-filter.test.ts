/** `dlq` filters: which dead letters a code, type, status or age names; `--since` as a time or an age. */
import t from 'tap';
import { sinceOf } from '../../cli/dlq.ts';
import { hasFilter, matchesFilter } from '../../hub/control/dead-letter-filter.ts';

const row = { code: 'PROXYHUB_FOREMAN_REJECTED', type: 'facts.uploaded.v1', upstreamStatus: 422, failedAt: '2026-01-02T10:00:00.000Z' };

t.test('each filter narrows; none matches everything', async (t) => {
  t.ok(matchesFilter(row, {}));
  t.notOk(hasFilter({}));
  t.ok(matchesFilter(row, { code: 'PROXYHUB_FOREMAN_REJECTED', type: 'facts.uploaded.v1', status: 422, since: '2026-01-02T10:00:00.000Z' }), 'all at once, since inclusive');
  t.notOk(matchesFilter(row, { code: 'PROXYHUB_EVENT_INVALID' }));
  t.notOk(matchesFilter(row, { type: 'report.uploaded.v1' }));
  t.notOk(matchesFilter(row, { status: 500 }));
  t.notOk(matchesFilter(row, { since: '2026-01-02T10:00:00.001Z' }));
  t.notOk(matchesFilter({ ...row, failedAt: '' }, { since: '2000-01-01T00:00:00Z' }), 'no failure time: older than any since');
  t.notOk(matchesFilter({ code: 'PROXYHUB_EVENT_INVALID', type: 'x', failedAt: '' }, { status: 422 }), 'no upstream status never matches one');
});

t.test('--since takes an ISO time or an age', async (t) => {
  const now = new Date('2026-01-02T12:00:00.000Z');
  t.equal(sinceOf('90s', now), '2026-01-02T11:58:30.000Z');
  t.equal(sinceOf('30m', now), '2026-01-02T11:30:00.000Z');
  t.equal(sinceOf('2h', now), '2026-01-02T10:00:00.000Z');
  t.equal(sinceOf('7d', now), '2025-12-26T12:00:00.000Z');
  t.equal(sinceOf('2026-01-01T00:00:00+01:00', now), '2025-12-31T23:00:00.000Z');
  t.throws(() => sinceOf('yesterday', now), { code: 'PROXYHUB_INPUT_INVALID' });
});
