/**
 * A listener's request metrics and trace context, driven through `inject()` (no socket): counts
 * by route template and status, a shed request counted as a 503 with its cause, unmatched URLs
 * under one label, and the request's trace context continued from the caller's header.
 */
import Fastify from 'fastify';
import t from 'tap';
import { registerGuards, type GuardSettings } from '../../hub/http/guards.ts';
import { createLogger } from '../../hub/log/logger.ts';
import { createHubMetrics } from '../../hub/telemetry/metrics.ts';
import { createTracing, traceIdOf } from '../../hub/telemetry/trace-context.ts';
import { parseSamples, sample } from '../helpers/prometheus-text.ts';

const settings: GuardSettings = {
  tls: false,
  trustedHosts: undefined,
  devOpenControl: false,
  devAnonymousUploads: true,
  frontProxy: { addresses: [], identityHeader: 'x-ssl-client-cn' },
  metricsReaders: [],
  ratePerMinute: 0,
  headersTimeoutMs: 10_000,
  maxEventLoopDelayMs: 0,
  maxInflightRequests: 1,
};

const metrics = createHubMetrics({ processMetrics: false });
const app = Fastify();
await registerGuards(app, settings, 'ingress', { metrics, tracing: createTracing(), accessLog: createLogger('silent') });
let release: () => void = () => undefined;
const held = new Promise<void>((resolve) => (release = resolve));
app.post('/hosts/:name/facts', async (request, reply) => {
  if ((request.params as { name: string }).name === 'slow') await held;
  return reply.code(202).send({ traceparent: request.traceparent });
});
await app.ready();
t.teardown(() => app.close());

async function waitUntil(check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const count = async (labels: Record<string, string>, name = 'proxyhub_http_requests_total') => sample(parseSamples(await metrics.render()), name, { listener: 'ingress', ...labels });

t.test('counted by route template and status, never by URL', async (t) => {
  for (const host of ['a', 'b', 'c']) t.equal((await app.inject({ method: 'POST', url: `/hosts/${host}/facts` })).statusCode, 202);
  t.equal(await count({ method: 'POST', route: '/hosts/:name/facts', status: '202' }), 3);
  t.equal(await count({ method: 'POST', route: '/hosts/:name/facts' }, 'proxyhub_http_request_duration_seconds_count'), 3);
  for (const path of ['/x', '/y?token=secret', '/z/../w']) t.equal((await app.inject({ method: 'GET', url: path })).statusCode, 404);
  t.equal(await count({ method: 'GET', route: '(unmatched)', status: '404' }), 3, 'one label for every unmatched URL');
});

t.test('a shed request is a 503 counted with its cause', async (t) => {
  // Admission sits in front of fastify on the server itself: only a real socket meets it.
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  const slow = fetch(`${url}/hosts/slow/facts`, { method: 'POST' });
  // Until the slow one holds the one slot, a probe upload may still be taken (202); the first refusal ends the wait.
  await waitUntil(async () => (await fetch(`${url}/hosts/d/facts`, { method: 'POST' }).then(async (r) => (await r.arrayBuffer(), r.status))) === 503);
  release();
  t.equal((await slow).status, 202);
  t.equal(await count({ cause: 'PROXYHUB_OVERLOADED' }, 'proxyhub_http_unavailable_total'), 1);
  t.equal(await count({ method: 'POST', route: '(shed)', status: '503' }), 1, 'under the one route label of refused requests');
  const scrape = await fetch(`${url}/metrics`);
  await scrape.arrayBuffer();
  t.not(scrape.status, 503, 'a metrics scrape is never shed');
});

t.test('the caller’s trace is continued, a missing one started', async (t) => {
  const caller = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
  const continued = (await app.inject({ method: 'POST', url: '/hosts/e/facts', headers: { traceparent: caller } })).json<{ traceparent: string }>().traceparent;
  t.equal(traceIdOf(continued), '4bf92f3577b34da6a3ce929d0e0e4736');
  t.not(continued, caller);
  const started = (await app.inject({ method: 'POST', url: '/hosts/f/facts' })).json<{ traceparent: string }>().traceparent;
  t.match(started, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
});
