/**
 * The pure parts of metrics, health and trace context: `traceparent` rules (W3C), hops without
 * an OpenTelemetry SDK, readiness naming what fails, publish outcomes by error code, BullMQ's
 * expositions merged into valid text, the supervisor's metrics ports, and the configuration
 * rules for the metrics port.
 */
import { readFileSync } from 'node:fs';
import t from 'tap';
import { ProxyhubError } from '../../contracts/errors.ts';
import { TYPE_PROPERTY, toRheaMessage } from '../../hub/bus/amqp10/message.ts';
import { observePublishes, publishOutcomeOf } from '../../hub/bus/observed-publisher.ts';
import { TRACEPARENT_HEADER, type Publisher } from '../../hub/bus/transport.ts';
import { deploymentProblems, metricsPortOf, parseRoles } from '../../hub/config/roles.ts';
import { configSchema } from '../../hub/config/schema.ts';
import { mergeExpositions } from '../../hub/jobs/rex-job-store.ts';
import { createHealth, readinessAnswer } from '../../hub/telemetry/health.ts';
import { createHubMetrics } from '../../hub/telemetry/metrics.ts';
import { createTracing, isValidTraceparent, nextTraceparent, traceIdOf } from '../../hub/telemetry/trace-context.ts';
import { workerFeatures } from '../../contracts/topology.ts';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const VALID = `00-${TRACE}-00f067aa0ba902b7-01`;

t.test('traceparent: the W3C rules', async (t) => {
  t.ok(isValidTraceparent(VALID));
  t.ok(isValidTraceparent(`00-${TRACE}-00f067aa0ba902b7-00`), 'unsampled');
  for (const bad of [`00-${'0'.repeat(32)}-00f067aa0ba902b7-01`, `00-${TRACE}-${'0'.repeat(16)}-01`, VALID.toUpperCase(), `ff-${TRACE}-00f067aa0ba902b7-01`, `01-${TRACE}-00f067aa0ba902b7-01-extra`, `${VALID} `, '', 42, undefined, ['a']]) {
    t.notOk(isValidTraceparent(bad), `refused: ${JSON.stringify(bad)}`);
  }
  t.equal(traceIdOf(VALID), TRACE);
});

t.test('a hop keeps the trace and its flags, with a span of its own', async (t) => {
  const next = nextTraceparent(VALID);
  t.ok(isValidTraceparent(next));
  t.equal(traceIdOf(next), TRACE);
  t.not(next.slice(36, 52), VALID.slice(36, 52));
  t.equal(nextTraceparent(`00-${TRACE}-00f067aa0ba902b7-00`).slice(53), '00', 'not sampled stays not sampled');
  const fresh = nextTraceparent('garbage');
  t.ok(isValidTraceparent(fresh), 'a new trace for a malformed header');
  t.not(traceIdOf(fresh), TRACE);
  t.equal(fresh.slice(53), '01', 'a trace started here is marked sampled');
  const ids = new Set(Array.from({ length: 2000 }, () => nextTraceparent(undefined)));
  t.equal(ids.size, 2000, 'no id repeats (the random pool is refilled)');
});

t.test('without an SDK, tracing is proxyhub’s own and runs hops as the current context', async (t) => {
  const tracing = createTracing();
  t.equal(tracing.sdk, false, 'no OpenTelemetry SDK in the tests');
  t.equal(tracing.current(), undefined);
  const hop = tracing.hop('deliver', VALID, 'consumer');
  t.equal(traceIdOf(hop.traceparent), TRACE);
  const inside = await hop.run(async () => {
    await new Promise((resolve) => setImmediate(resolve));
    return tracing.current();
  });
  t.equal(inside, hop.traceparent, 'carried across awaits (AsyncLocalStorage)');
  t.equal(tracing.current(), undefined, 'and only inside');
  hop.end(new Error('nothing to record without an SDK'));
});

t.test('readiness names every failing check; a throwing check fails with its message', async (t) => {
  const health = createHealth();
  t.same(health.readiness(), { ready: true, checks: {}, failing: [] });
  let brokerUp = true;
  health.add('broker', () => (brokerUp ? true : 'publisher down'));
  health.add('redis', () => {
    throw new Error('no connection');
  });
  t.same(health.readiness(), { ready: false, checks: { broker: 'ok', redis: 'no connection' }, failing: ['redis'] });
  brokerUp = false;
  t.same(readinessAnswer(health, 'control'), { status: 503, body: { status: 'not ready', role: 'control', checks: { broker: 'publisher down', redis: 'no connection' }, failing: ['broker', 'redis'] } });
  health.add('redis', () => true);
  brokerUp = true;
  t.equal(readinessAnswer(health, 'control').status, 200, 'a check added again replaces the first');
});

t.test('publish outcomes come from the transports’ error codes', async (t) => {
  t.equal(publishOutcomeOf(new ProxyhubError('PROXYHUB_BUS_REFUSED', 'nack')), 'nacked');
  t.equal(publishOutcomeOf(new ProxyhubError('PROXYHUB_BUS_UNROUTABLE', 'returned')), 'returned');
  t.equal(publishOutcomeOf(new ProxyhubError('PROXYHUB_BUS_TIMEOUT', 'late')), 'timeout');
  t.equal(publishOutcomeOf(new ProxyhubError('PROXYHUB_BUS_BLOCKED', 'alarm')), 'blocked');
  t.equal(publishOutcomeOf(new ProxyhubError('PROXYHUB_BUS_UNAVAILABLE', 'down')), 'unavailable');
  t.equal(publishOutcomeOf(new Error('other')), 'failed');
  const seen: string[] = [];
  let fail = false;
  const inner: Publisher = { state: 'ready', start: async () => undefined, close: async () => undefined, publish: async () => (fail ? Promise.reject(new ProxyhubError('PROXYHUB_BUS_REFUSED', 'nack')) : undefined) };
  const observed = observePublishes(inner, (outcome) => seen.push(outcome));
  const message = { exchange: 'x', routingKey: 'k', body: Buffer.from('{}'), messageId: '1', type: 't', contentType: 'application/json' };
  await observed.publish(message);
  fail = true;
  await t.rejects(observed.publish(message), { code: 'PROXYHUB_BUS_REFUSED' }, 'the error still reaches the caller');
  t.same(seen, ['confirmed', 'nacked']);
  t.equal(observed.state, 'ready');
});

t.test('a trace context travels as an AMQP 1.0 application property', async (t) => {
  const message = toRheaMessage({ exchange: '', routingKey: 'ph.registration.requests', body: Buffer.from('{}'), messageId: 'c', correlationId: 'c', type: 'foreman.request.v1', contentType: 'application/json', headers: { [TRACEPARENT_HEADER]: VALID } });
  t.same(message.application_properties, { traceparent: VALID, [TYPE_PROPERTY]: 'foreman.request.v1' });
});

t.test('BullMQ’s expositions of several queues merge into one group per metric', async (t) => {
  const one = '# HELP a_total A\n# TYPE a_total counter\na_total{queue="q1"} 1\n# HELP b B\n# TYPE b gauge\nb{queue="q1"} 2';
  const two = '# HELP a_total A\n# TYPE a_total counter\na_total{queue="q2"} 3\n# HELP b B\n# TYPE b gauge\nb{queue="q2"} 4';
  t.equal(mergeExpositions([one, two]), '# HELP a_total A\n# TYPE a_total counter\na_total{queue="q1"} 1\na_total{queue="q2"} 3\n# HELP b B\n# TYPE b gauge\nb{queue="q1"} 2\nb{queue="q2"} 4');
});

t.test('the registry renders our metrics and the extra expositions, one per hub', async (t) => {
  const metrics = createHubMetrics({ processMetrics: false });
  const other = createHubMetrics({ processMetrics: false });
  metrics.httpRequests.labels('ingress', 'POST', '/api/v2/hosts/facts', '202').inc();
  metrics.addExposition(async () => 'bullmq_job_count{queue="rex-jobs", state="waiting"} 0');
  metrics.addExposition(async () => Promise.reject(new Error('Redis down: left out, not a failed scrape')));
  metrics.setQueueDepthSource(async () => [{ feature: 'facts', queue: 'work', messages: 7 }]);
  const text = await metrics.render();
  t.match(text, /proxyhub_http_requests_total\{listener="ingress",method="POST",route="\/api\/v2\/hosts\/facts",status="202"\} 1\n/);
  t.match(text, /proxyhub_queue_depth\{feature="facts",queue="work"\} 7\n/);
  t.match(text, /bullmq_job_count\{queue="rex-jobs", state="waiting"\} 0\n$/);
  t.notMatch(await other.render(), /proxyhub_http_requests_total\{/, 'another hub’s registry is its own');
});

t.test('each worker role has a metrics port of its own, alone or supervised', async (t) => {
  const portOf = (feature: string): number => metricsPortOf(parseRoles(`worker:${feature}`), 9464);
  t.same(
    ['facts', 'reports', 'openscap', 'registration', 'container_gateway', 'rex', 'rhsm'].map(portOf),
    [9464, 9465, 9466, 9467, 9468, 9469, 9470],
    'a fixed place per feature; new features are appended, so no port moves on an upgrade',
  );
  const ports = workerFeatures.map(portOf);
  t.equal(new Set(ports).size, workerFeatures.length, 'every worker feature has a place, no two alike');
  t.notOk(ports.includes(9463), 'none below the base');
  t.equal(metricsPortOf(parseRoles('worker:reports'), 0), 0, 'any free port stays any free port');
});

t.test('a metrics port beyond loopback needs the operator’s say-so', async (t) => {
  const base = { foreman: { url: 'https://foreman.example.com' } };
  const remote = configSchema.parse({ ...base, observability: { metricsHost: '0.0.0.0' } });
  t.match(deploymentProblems(remote, parseRoles('worker:facts')).join('\n'), /metrics port on 0\.0\.0\.0/);
  t.match(deploymentProblems(remote, parseRoles('all')).join('\n'), /metrics port on 0\.0\.0\.0/, 'its worker children would open it too');
  t.same(deploymentProblems(configSchema.parse({ observability: { metricsHost: '0.0.0.0' } }), parseRoles('ingress')), [], 'a process with a listener opens no metrics port');
  t.same(deploymentProblems(configSchema.parse({ ...base, observability: { metricsHost: '0.0.0.0', metricsAllowRemote: true } }), parseRoles('worker:facts')), []);
  t.same(deploymentProblems(configSchema.parse(base), parseRoles('worker:facts')), [], 'loopback by default');
});

t.test('the Grafana dashboard asks only for metrics a hub exposes', async (t) => {
  const dashboard = JSON.parse(readFileSync(new URL('../../docs/grafana-dashboard.json', import.meta.url), 'utf8')) as { panels: Array<{ targets?: Array<{ expr: string }> }> };
  const metrics = createHubMetrics();
  const exposed = new Set((await metrics.registry.getMetricsAsJSON()).map((metric) => metric.name));
  // Histograms are asked for by their series; BullMQ's export is appended, not registered.
  const known = (name: string): boolean => exposed.has(name.replace(/_(bucket|sum|count)$/, '')) || name === 'bullmq_job_count';
  const asked = dashboard.panels.flatMap((panel) => panel.targets ?? []).flatMap((target) => [...target.expr.matchAll(/\b((?:proxyhub|process|nodejs|bullmq)_[a-z0-9_]+)\b/g)].map((match) => match[1] as string));
  t.ok(asked.length >= 15, `${asked.length} series asked for`);
  t.same(asked.filter((name) => !known(name)), []);
});
