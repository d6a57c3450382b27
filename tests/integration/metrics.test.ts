/**
 * The metrics and health of a hub, read as Prometheus and a probe read them: after a known
 * sequence of uploads the counters have moved by exactly that much; readiness names the
 * dependency that fails; hosts cannot read the ingress's metrics unless the operator lists a
 * reader.
 * Runs once per transport, AMQP 0-9-1 and AMQP 1.0 (@every-transport; see scripts/test.mjs).
 */
import t from 'tap';
import { reportFixtures } from '../helpers/fixtures.ts';
import { startHubWithForeman } from '../helpers/hub-with-foreman.ts';
import { testConfig } from '../helpers/hub-harness.ts';
import { has, sample, scrape, type Samples } from '../helpers/prometheus-text.ts';
import { startHubFor } from '../helpers/test-hub.ts';
import { waitFor } from '../helpers/wait-for.ts';

// `localhost` resolves to the loopback caller: on plain HTTP a listed name is matched by address.
const { foreman, hub, config } = await startHubWithForeman(t, { overrides: () => ({ observability: { metricsPort: 0, metricsReaders: ['localhost'] } }) });
// The same prefix, nobody listed: what a host reaching the ingress gets.
const unlisted = await startHubFor(t, testConfig(config.prefix, foreman.url), 'ingress');

const FACTS = 3;
const puppetReports = reportFixtures().filter((fixture) => fixture.format === 'puppet' && fixture.expectedFacts === null).slice(0, 2);

const ingress = (labels: Record<string, string>) => ({ listener: 'ingress', method: 'POST', ...labels });
const deliveredTo = (path: string) => foreman.delivered(path).length;

async function upload(path: string, contentType: string, body: string): Promise<number> {
  return (await fetch(`${hub.ingressUrl}${path}`, { method: 'POST', headers: { 'content-type': contentType }, body })).status;
}

t.test('counters move by exactly the uploads made', async (t) => {
  t.ok(puppetReports.length === 2, 'two Puppet report fixtures without facts');
  const before: Samples = await scrape(`${hub.ingressUrl}/metrics`);
  for (let i = 0; i < FACTS; i += 1) t.equal(await upload('/api/v2/hosts/facts', 'application/json', JSON.stringify({ name: `metrics${i}.example.com`, facts: { i: String(i) } })), 202);
  for (const report of puppetReports) t.equal(await upload(`/reports/${report.format}`, report.contentType, report.payload), 202);
  t.equal(await upload('/api/v2/hosts/facts', 'application/json', '{"facts":{}}'), 400, 'one refused upload');
  await waitFor(() => deliveredTo('/api/v2/hosts/facts') >= FACTS && deliveredTo('/api/v2/host_reports') >= puppetReports.length, { what: 'every upload delivered' });
  // Settled (acked, counted) a moment after Foreman's answer.
  const after = await waitFor(async () => {
    const now = await scrape(`${hub.ingressUrl}/metrics`);
    return sample(now, 'proxyhub_deliveries_total', { feature: 'reports', outcome: 'delivered' }) - sample(before, 'proxyhub_deliveries_total', { feature: 'reports', outcome: 'delivered' }) >= puppetReports.length && now;
  });
  const moved = (name: string, labels: Record<string, string>) => sample(after, name, labels) - sample(before, name, labels);
  t.equal(moved('proxyhub_http_requests_total', ingress({ route: '/api/v2/hosts/facts', status: '202' })), FACTS, 'facts answered 202');
  t.equal(moved('proxyhub_http_requests_total', ingress({ route: '/api/v2/hosts/facts', status: '400' })), 1, 'the refused one, as 400');
  t.equal(moved('proxyhub_http_requests_total', ingress({ route: '/reports/:format', status: '202' })), puppetReports.length, 'reports by their route template, not their URL');
  t.equal(moved('proxyhub_http_request_duration_seconds_count', ingress({ route: '/api/v2/hosts/facts' })), FACTS + 1, 'one accept latency per facts request');
  t.equal(moved('proxyhub_deliveries_total', { feature: 'facts', outcome: 'delivered' }), FACTS, 'facts delivered');
  t.equal(moved('proxyhub_deliveries_total', { feature: 'reports', outcome: 'delivered' }), puppetReports.length, 'reports delivered');
  t.equal(moved('proxyhub_delivery_latency_seconds_count', { feature: 'facts' }), FACTS, 'one delivery latency per delivered facts event');
  t.ok(moved('proxyhub_bus_publishes_total', { outcome: 'confirmed' }) >= FACTS + puppetReports.length, 'every upload a confirmed publish (outcomes and heartbeats too)');
  t.equal(moved('proxyhub_bus_publishes_total', { outcome: 'nacked' }), 0, 'nothing nacked');
  t.equal(sample(after, 'proxyhub_upstream_paused', { upstream: 'foreman', feature: 'facts' }), 0, 'Foreman not paused');
  t.ok(has(after, 'process_cpu_seconds_total'), "Node's process metrics too");
});

t.test('503s are counted by cause', async (t) => {
  const before = await scrape(`${hub.controlUrl}/metrics`);
  // Nobody consumes the container gateway's requests (no registry configured): no worker, at once.
  const refused = await fetch(`${hub.ingressUrl}/v2/`);
  t.equal(refused.status, 503);
  const cause = ((await refused.json()) as { errors: Array<{ detail?: { code?: string } }> }).errors[0]?.detail?.code ?? 'unknown';
  t.match(cause, /^PROXYHUB_(RPC_NO_WORKER|BUS_UNAVAILABLE)$/, 'the answer names its cause');
  const after = await waitFor(async () => {
    const now = await scrape(`${hub.controlUrl}/metrics`);
    return sample(now, 'proxyhub_http_unavailable_total', { listener: 'ingress', cause }) > sample(before, 'proxyhub_http_unavailable_total', { listener: 'ingress', cause }) && now;
  });
  t.equal(sample(after, 'proxyhub_http_unavailable_total', { listener: 'ingress', cause }) - sample(before, 'proxyhub_http_unavailable_total', { listener: 'ingress', cause }), 1, 'counted once, under that cause');
});

t.test('the control listener adds queue depths, capability changes and BullMQ’s REX job counts', async (t) => {
  const samples = await scrape(`${hub.controlUrl}/metrics`);
  t.ok(has(samples, 'proxyhub_queue_depth', { feature: 'facts', queue: 'work' }), 'facts work queue depth');
  t.equal(sample(samples, 'proxyhub_queue_depth', { feature: 'facts', queue: 'dead_letter' }), 0, 'no facts dead letters');
  t.ok(sample(samples, 'proxyhub_capability_changes_total', { feature: 'reports', change: 'up', cause: 'announced' }) >= 1, 'reports came up');
  t.ok(has(samples, 'bullmq_job_count', { queue: 'rex-jobs', state: 'waiting', prefix: config.prefix }), 'REX jobs by state (BullMQ’s export)');
  const info = [...samples.keys()].find((key) => key.startsWith('proxyhub_info{'));
  t.match(info, /roles="ingress,control,worker:facts.*transport="amqp/, 'what the process is');
});

t.test('readiness names the failing dependency; liveness does not care', async (t) => {
  const ready = await fetch(`${hub.controlUrl}/readyz`);
  t.equal(ready.status, 200);
  const body = (await ready.json()) as { status: string; checks: Record<string, string>; failing: string[] };
  t.same(body.failing, []);
  for (const check of ['broker', 'broker (consumer)', 'redis (delivered ids)', 'redis (rex task API)', 'redis (container gateway tables)', 'redis (rex jobs)', 'foreman (facts)', 'foreman (reports)', 'foreman (openscap)']) t.equal(body.checks[check], 'ok', `${check} checked`);
  foreman.down();
  t.teardown(() => foreman.up());
  t.equal(await upload('/api/v2/hosts/facts', 'application/json', JSON.stringify({ name: 'down.example.com', facts: {} })), 202);
  const notReady = await waitFor(async () => {
    const answer = await fetch(`${hub.ingressUrl}/readyz`);
    return answer.status === 503 && ((await answer.json()) as { failing: string[]; checks: Record<string, string> });
  }, { what: 'readiness to fail while Foreman is down' });
  t.same(notReady.failing, ['foreman (facts)'], 'Foreman, for the facts worker, and nothing else');
  t.match(notReady.checks['foreman (facts)'], /paused/);
  t.equal((await fetch(`${hub.ingressUrl}/livez`)).status, 200, 'alive all the same');
  t.equal((await fetch(`${hub.ingressUrl}/healthz`)).status, 200, '/healthz answers as before (the broker only)');
  const paused = await scrape(`${hub.controlUrl}/metrics`);
  t.equal(sample(paused, 'proxyhub_upstream_paused', { upstream: 'foreman', feature: 'facts' }), 1, 'the pause is a metric too');
  t.ok(sample(paused, 'proxyhub_deliveries_total', { feature: 'facts', outcome: 'retried' }) >= 1, 'the failed delivery was retried');
  foreman.up();
  await waitFor(async () => (await fetch(`${hub.ingressUrl}/readyz`)).status === 200, { what: 'ready again once Foreman answers' });
});

t.test('the ingress’s metrics are for listed readers only', async (t) => {
  const refused = await fetch(`${unlisted.ingressUrl}/metrics`);
  t.equal(refused.status, 403, 'nobody listed: refused, even from loopback');
  t.equal(((await refused.json()) as { code: string }).code, 'PROXYHUB_AUTH_NOT_TRUSTED');
  t.equal((await fetch(`${unlisted.ingressUrl}/livez`)).status, 200, 'liveness stays open');
  t.equal((await fetch(`${unlisted.ingressUrl}/readyz`)).status, 200, 'readiness too');
});
