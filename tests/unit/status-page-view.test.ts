/**
 * The status page's pure parts: the depth trend (counts over the span watched, dead letters
 * only counted up), the REX job redaction (an allow-list: script, secrets and unknown input
 * fields never pass), and the server-rendered page (every value escaped).
 */
import t from 'tap';
import type { QueueDepth } from '../../hub/control/hub-status.ts';
import { createDepthTrend } from '../../hub/control/status/depth-trend.ts';
import { redactedJobData } from '../../contracts/rex/job-redaction.ts';
import { withoutRemoteLinks } from '../../hub/control/status/job-board.ts';
import { renderStatusPage } from '../../hub/control/status/status-page.ts';
import type { StatusView } from '../../hub/control/status/status-view.ts';

const facts = (work: number | null, deadLetters: number | null): QueueDepth[] => [{ feature: 'facts', work, deadLetters }];

t.test('the depth trend: nothing before a few seconds, then counts over the span; replays are not negative failures', async (t) => {
  const trend = createDepthTrend();
  t.strictSame(trend.add(0, facts(5, 0)).get('facts'), { workChange: null, deadLettersAdded: null, trendSeconds: null });
  t.strictSame(trend.add(2000, facts(7, 1)).get('facts'), { workChange: null, deadLettersAdded: null, trendSeconds: null }, 'two seconds say more about timing');
  t.strictSame(trend.add(10_000, facts(3, 0)).get('facts'), { workChange: -2, deadLettersAdded: 1, trendSeconds: 10 }, 'a replay (1 → 0) does not cancel the dead letter that came');
  t.strictSame(trend.add(75_000, facts(3, 2)).get('facts'), { workChange: 0, deadLettersAdded: 2, trendSeconds: 65 }, 'samples older than a minute drop out, one older is kept to span it');
  t.strictSame(createDepthTrend().add(0, facts(null, null)).get('facts'), { workChange: null, deadLettersAdded: null, trendSeconds: null }, 'an undeclared queue has no trend');
});

t.test('REX job data passes an allow-list: no script, no secrets, no unknown input field', async (t) => {
  const data = {
    planId: 'p1',
    batchId: 'b1',
    actionClass: 'RunScript',
    launchedAt: 1,
    input: { hostname: 'h.example.com', script: 'echo secret-script', ssh_user: 'root', secrets: { ssh_password: 'pw1', effective_user_password: 'pw2' }, callback: { task_id: 't', step_id: 1 }, vault_token: 'pw3', effective_user: 'admin' },
    extra: 'pw4',
  };
  const shown = redactedJobData(data);
  t.strictSame(shown, {
    planId: 'p1',
    batchId: 'b1',
    actionClass: 'RunScript',
    launchedAt: 1,
    input: { hostname: 'h.example.com', ssh_user: 'root', effective_user: 'admin', callback: { task_id: 't', step_id: 1 }, script: '(18 bytes, not shown)', secrets: '(not shown)' },
  });
  for (const secret of ['secret-script', 'pw1', 'pw2', 'pw3', 'pw4']) t.notOk(JSON.stringify(shown).includes(secret), secret);
  t.equal(redactedJobData('a string someone wrote'), '(not shown)', 'data outside the contract is not shown either');
  t.strictSame(redactedJobData({ input: 'not an object' }), { input: {} });
});

t.test('the board page loses its remote font link', async (t) => {
  t.equal(withoutRemoteLinks('<head><link href="https://fonts.googleapis.com/css2?x" rel="stylesheet">\n<link href="static/css/main.css" rel="stylesheet"></head>'), '<head>\n<link href="static/css/main.css" rel="stylesheet"></head>');
  t.equal(withoutRemoteLinks('<link rel="stylesheet" href="//cdn.example.com/a.css">'), '');
});

t.test('the page escapes everything it shows', async (t) => {
  const view: StatusView = {
    at: '2026-01-01T00:00:00.000Z',
    broker: 'ok',
    redis: 'DOWN: <b>',
    jobCounts: '0',
    attention: ['<script>alert(1)</script>'],
    rows: { instances: [['<img src=x onerror=alert(1)>', 'control', 'h', 'v', '–', '0 s ago']], features: [], queues: [], failures: [['t', 'facts', 'C', '422', '"quoted" & <tagged>', '1', 'id']], jobs: [] },
  };
  const html = renderStatusPage(view, 'pre<fix>');
  t.notMatch(html, /<script>alert|<img src=x|<tagged>|<b>|pre<fix>/);
  t.match(html, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
  t.match(html, /&quot;quoted&quot; &amp; &lt;tagged&gt;/);
  t.match(html, /<script src="\/status\/page.js" defer><\/script>/, 'the one script is the page’s own file');
});
