/**
 * A worker-only process has no listener, so it serves its metrics and health on a loopback port
 * of its own: the operator's `proxyhub start --role worker:facts`, as a child process, answers
 * `/livez`, `/readyz` (each dependency it uses) and `/metrics`, and counts the delivery it made.
 * Each worker feature has a port of its own (the base plus its place), alone or supervised.
 */
import t from 'tap';
import { fixedTestPort, testConfig } from '../helpers/hub-harness.ts';
import { startForemanFor } from '../helpers/hub-with-foreman.ts';
import { sample, scrape } from '../helpers/prometheus-text.ts';
import { spawnHubFor, startHubFor, usePrefix } from '../helpers/test-hub.ts';
import { waitFor } from '../helpers/wait-for.ts';

// Hub processes start here one after another; at the parallel suite's outset one start has taken
// over 30 s, and spawnHub waits up to 65 s: tap's 180 s per file would cut such a run short.
t.setTimeout(300_000);

const foreman = await startForemanFor(t);
const prefix = usePrefix(t);
// Port 0 (the tests' setting): the child logs the port it got.
const config = testConfig(prefix, foreman.url);
const worker = await spawnHubFor(t, config, 'worker:facts');
const ingress = await startHubFor(t, testConfig(prefix, 'http://127.0.0.1:9'), 'ingress');

interface StartedLine {
  readonly msg?: string;
  readonly metricsUrl?: string;
  readonly metricsUrls?: Record<string, string>;
}

function startedLine(output: readonly string[]): StartedLine {
  for (const line of output.join('').split('\n')) {
    if (!line.startsWith('{')) continue;
    const entry = JSON.parse(line) as StartedLine;
    if (entry.msg === 'proxyhub started') return entry;
  }
  throw new Error(`no start logged: ${output.join('')}`);
}
const url = startedLine(worker.output).metricsUrl as string;

t.test('it listens on loopback only', async (t) => {
  t.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
});

t.test('liveness and readiness, with every dependency the worker uses', async (t) => {
  const live = await fetch(`${url}/livez`);
  t.equal(live.status, 200);
  t.match(await live.json(), { status: 'alive', role: 'worker:facts' });
  const ready = await fetch(`${url}/readyz`);
  t.equal(ready.status, 200);
  t.same(await ready.json(), { status: 'ready', role: 'worker:facts', checks: { broker: 'ok', 'redis (delivered ids)': 'ok', 'broker (consumer)': 'ok', 'foreman (facts)': 'ok' }, failing: [] });
  t.equal((await fetch(`${url}/healthz`)).status, 200, '/healthz as readiness');
  t.equal((await fetch(`${url}/nothing`)).status, 404);
});

t.test('its metrics count the delivery it made', async (t) => {
  const before = await scrape(`${url}/metrics`);
  t.equal(sample(before, 'proxyhub_upstream_paused', { upstream: 'foreman', feature: 'facts' }), 0);
  const answer = await fetch(`${ingress.ingressUrl}/api/v2/hosts/facts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'worker-only.example.com', facts: {} }) });
  t.equal(answer.status, 202);
  const after = await waitFor(async () => {
    const now = await scrape(`${url}/metrics`);
    return sample(now, 'proxyhub_deliveries_total', { feature: 'facts', outcome: 'delivered' }) > sample(before, 'proxyhub_deliveries_total', { feature: 'facts', outcome: 'delivered' }) && now;
  }, { what: 'the worker to count its delivery' });
  t.equal(sample(after, 'proxyhub_deliveries_total', { feature: 'facts', outcome: 'delivered' }) - sample(before, 'proxyhub_deliveries_total', { feature: 'facts', outcome: 'delivered' }), 1, 'exactly one delivery');
  t.equal(foreman.delivered('/api/v2/hosts/facts').length, 1);
  t.ok(sample(after, 'process_resident_memory_bytes') > 0, 'its own process metrics');
});

t.test('each worker child of a supervisor opens its feature’s port', async (t) => {
  const base = fixedTestPort();
  const supervised = await spawnHubFor(t, testConfig(prefix, foreman.url, { observability: { metricsPort: base } }), 'worker:facts,worker:reports');
  t.same(startedLine(supervised.output).metricsUrls, { 'worker:facts': `http://127.0.0.1:${base}`, 'worker:reports': `http://127.0.0.1:${base + 1}` }, 'both in the started line');
  for (const [role, port] of [['worker:facts', base], ['worker:reports', base + 1]] as const) {
    t.match(await (await fetch(`http://127.0.0.1:${port}/livez`)).json(), { status: 'alive', role }, `${role} on ${port}`);
  }
});

t.test('in-process too: the hub reports its metrics port, which answers GET and HEAD only', async (t) => {
  const hub = await startHubFor(t, config, 'worker:reports');
  t.match(hub.metricsUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
  const base = hub.metricsUrl as string;
  const ready = (await (await fetch(`${base}/readyz`)).json()) as { role: string; failing: string[]; checks: Record<string, string> };
  t.equal(ready.role, 'worker:reports');
  t.same(ready.failing, []);
  t.equal(ready.checks['foreman (reports)'], 'ok');
  const head = await fetch(`${base}/metrics`, { method: 'HEAD' });
  t.equal(head.status, 200);
  t.match(head.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
  t.equal((await fetch(`${base}/metrics`, { method: 'POST' })).status, 405);
  t.match(await (await fetch(`${base}/metrics`)).text(), /proxyhub_upstream_paused\{upstream="foreman",feature="reports"\} 0/);
});
