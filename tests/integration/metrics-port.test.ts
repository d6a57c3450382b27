/**
 * A worker-only process has no listener, so it serves its metrics and health on a loopback port
 * of its own: the operator's `proxyhub start --role worker:facts`, as a child process, answers
 * `/livez`, `/readyz` (each dependency it uses) and `/metrics`, and counts the delivery it made.
 */
import t from 'tap';
import { testConfig } from '../helpers/hub-harness.ts';
import { startForemanFor } from '../helpers/hub-with-foreman.ts';
import { sample, scrape } from '../helpers/prometheus-text.ts';
import { spawnHubFor, startHubFor, usePrefix } from '../helpers/test-hub.ts';
import { waitFor } from '../helpers/wait-for.ts';

const foreman = await startForemanFor(t);
const prefix = usePrefix(t);
// Port 0 (the tests' setting): the child logs the port it got.
const config = testConfig(prefix, foreman.url);
const worker = await spawnHubFor(t, config, 'worker:facts');
const ingress = await startHubFor(t, testConfig(prefix, 'http://127.0.0.1:9'), 'ingress');

function metricsUrl(): string {
  for (const line of worker.output.join('').split('\n')) {
    if (!line.startsWith('{')) continue;
    const entry = JSON.parse(line) as { msg?: string; metricsUrl?: string };
    if (entry.msg === 'proxyhub started' && entry.metricsUrl !== undefined) return entry.metricsUrl;
  }
  throw new Error(`no metrics URL logged: ${worker.output.join('')}`);
}
const url = metricsUrl();

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
