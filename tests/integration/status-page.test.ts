/**
 * The status page's protection and what it never shows: every route of it (the page, its data,
 * its event stream, the job board) is refused to a caller trusted_hosts does not list; the job
 * board takes reads only; and a REX job's script and passwords appear nowhere, neither on the
 * page nor in the board's answers, while the job itself is listed.
 */
import t from 'tap';
import type { StatusDocument } from '../../contracts/http/status-page.ts';
import { testConfig } from '../helpers/hub-harness.ts';
import { startForemanFor } from '../helpers/hub-with-foreman.ts';
import { openSse } from '../helpers/sse-client.ts';
import { hostJob, launchBody } from '../helpers/rex.ts';
import { startHubFor, usePrefix } from '../helpers/test-hub.ts';

const SCRIPT = 'echo the-script-body-7f3a';
const SECRETS = { ssh_password: 'ssh-pass-91c2', key_passphrase: 'key-pass-5d0e', effective_user_password: 'sudo-pass-2b8f' };
const NEVER_SHOWN = [SCRIPT, ...Object.values(SECRETS)];

const foreman = await startForemanFor(t);
const prefix = usePrefix(t);
// Development mode stands for a trusted caller here; the second control of the same hub lists
// a trusted host that no loopback caller is.
const open = await startHubFor(t, testConfig(prefix, foreman.url), 'control');
const guarded = await startHubFor(t, testConfig(prefix, foreman.url, { devOpenControl: false, trustedHosts: ['foreman.example.com'] }), 'control');
const openUrl = open.controlUrl as string;
const guardedUrl = guarded.controlUrl as string;
const job = hostJob('secret-host.example.com', SCRIPT, { secrets: SECRETS });
const launched = await fetch(`${openUrl}/dynflow/tasks/launch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(launchBody([job])) });

const STATUS_ROUTES = ['/status', '/status/page.js', '/status/page.css', '/status/state', '/status/events', '/status/jobs', '/status/jobs/', '/status/jobs/api/queues', `/status/jobs/api/queues/rex-jobs/${job.planId}`];

t.test('every status route refuses a caller trusted_hosts does not list', async (t) => {
  for (const path of STATUS_ROUTES) {
    const response = await fetch(`${guardedUrl}${path}`);
    t.equal(response.status, 403, path);
    t.match(response.headers.get('content-type'), /application\/problem\+json/, `${path}: a problem document`);
    t.match(((await response.json()) as { code: string }).code, 'PROXYHUB_AUTH_NOT_TRUSTED', path);
  }
});

t.test('the page and its data answer a trusted caller, with a CSP that allows nothing from elsewhere', async (t) => {
  const page = await fetch(`${openUrl}/status`);
  t.equal(page.status, 200);
  t.match(page.headers.get('content-type'), /text\/html/);
  t.match(page.headers.get('content-security-policy'), /default-src 'none'; script-src 'self'/);
  const html = await page.text();
  t.match(html, /<table id="instances">/);
  t.notMatch(html, /<script>|style="|https?:\/\/(?!127\.0\.0\.1)/, 'no inline script or style, nothing from another host');
  const state = (await (await fetch(`${openUrl}/status/state`)).json()) as StatusDocument;
  t.ok(state.capabilities.instances.some((i) => i.roles.includes('control')), 'this control announces itself');
  t.ok(state.broker.ok && state.redis.ok, 'broker and Redis answer');
  t.strictSame(state.queues.map((q) => q.feature), ['facts', 'reports', 'openscap', 'rhsm']);
});

t.test('a REX job is listed in flight, and its script and secrets are shown nowhere', async (t) => {
  t.equal(launched.status, 200, 'launched (no rex worker runs: the job stays queued)');
  const state = (await (await fetch(`${openUrl}/status/state`)).json()) as StatusDocument;
  t.match(state.rex?.inFlight, [{ planId: job.planId, host: 'secret-host.example.com', foremanTask: job.taskId }]);
  const sse = await openSse(`${openUrl}/status/events`);
  t.teardown(() => sse.close());
  const event = await sse.next((e) => e.event === 'status' && JSON.stringify(e.data).includes(job.planId), { what: 'a status event listing the job' });

  const boardJob = await fetch(`${openUrl}/status/jobs/api/queues/rex-jobs/${job.planId}`);
  t.equal(boardJob.status, 200, 'the board shows the job');
  const boardJobText = await boardJob.text();
  const boardData = (JSON.parse(boardJobText) as { job: { data: { input: Record<string, unknown> } } }).job.data;
  t.equal(boardData.input.hostname, 'secret-host.example.com', 'where it runs is shown');
  t.match(boardData.input.script, /^\(\d+ bytes, not shown\)$/);
  t.equal(boardData.input.secrets, '(not shown)');
  const boardList = await (await fetch(`${openUrl}/status/jobs/api/queues?activeQueue=rex-jobs&status=waiting&page=1&jobsPerPage=50`)).text();
  t.match(boardList, job.planId, 'the board lists it');

  const answers = {
    page: await (await fetch(`${openUrl}/status`)).text(),
    state: JSON.stringify(state),
    event: JSON.stringify(event.data),
    boardJob: boardJobText,
    boardList,
    boardLogs: await (await fetch(`${openUrl}/status/jobs/api/queues/rex-jobs/${job.planId}/logs`)).text(),
    boardFlow: await (await fetch(`${openUrl}/status/jobs/api/queues/rex-jobs/${job.planId}/flow`)).text(),
  };
  t.match(answers.page, job.planId, 'the page lists the job');
  for (const [where, text] of Object.entries(answers)) {
    for (const secret of NEVER_SHOWN) t.notOk(text.includes(secret), `${where} does not contain ${secret}`);
  }
});

t.test('the job board is read-only: its actions have no route', async (t) => {
  const actions: Array<[string, string]> = [
    ['PUT', `/status/jobs/api/queues/rex-jobs/${job.planId}/promote`],
    ['PUT', `/status/jobs/api/queues/rex-jobs/${job.planId}/clean`],
    ['PATCH', `/status/jobs/api/queues/rex-jobs/${job.planId}/update-data`],
    ['PUT', '/status/jobs/api/queues/rex-jobs/pause'],
    ['PUT', '/status/jobs/api/queues/rex-jobs/empty'],
    ['POST', '/status/jobs/api/queues/rex-jobs/add'],
    ['DELETE', '/status/jobs/api/queues/rex-jobs/obliterate'],
  ];
  for (const [method, path] of actions) {
    const response = await fetch(`${openUrl}${path}`, { method, headers: { 'content-type': 'application/json' }, body: '{}' });
    t.equal(response.status, 404, `${method} ${path}`);
  }
  const state = (await (await fetch(`${openUrl}/status/state`)).json()) as StatusDocument;
  t.match(state.rex?.inFlight, [{ planId: job.planId, state: 'waiting' }], 'the job is untouched');
});
