/**
 * One W3C trace from the host's request to Foreman: the ingress continues the caller's
 * `traceparent` (or starts a trace), the event and the RPC request carry it over the broker, the
 * worker continues it, and the test Foreman receives it on the request it records. Each hop has
 * its own span id; the trace id never changes.
 * Runs once per transport, AMQP 0-9-1 and AMQP 1.0 (@every-transport; see scripts/test.mjs).
 */
import t from 'tap';
import { startHubWithForeman } from '../helpers/hub-with-foreman.ts';
import { waitFor } from '../helpers/wait-for.ts';

const { foreman, hub } = await startHubWithForeman(t, { overrides: () => ({ registrationUrl: 'https://proxy.example.com:8443' }) });

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

function parts(header: string | string[] | undefined): { traceId: string; spanId: string; flags: string } {
  const match = TRACEPARENT.exec(String(header));
  if (!match) throw new Error(`not a traceparent: ${String(header)}`);
  return { traceId: match[1] as string, spanId: match[2] as string, flags: match[3] as string };
}

t.test("a facts upload's traceparent reaches Foreman with the same trace id", async (t) => {
  const answer = await fetch(`${hub.ingressUrl}/api/v2/hosts/facts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', traceparent: `00-${TRACE_ID}-${CALLER_SPAN}-01` },
    body: JSON.stringify({ name: 'traced.example.com', facts: { a: '1' } }),
  });
  t.equal(answer.status, 202);
  const delivered = await waitFor(() => foreman.delivered('/api/v2/hosts/facts').find((r) => (r.body as { name: string }).name === 'traced.example.com'));
  const received = parts(delivered.headers.traceparent);
  t.equal(received.traceId, TRACE_ID, 'the caller’s trace');
  t.equal(received.flags, '01', 'its sampling decision');
  t.not(received.spanId, CALLER_SPAN, 'a span of the hub’s own, not the caller’s');
});

t.test('without a traceparent the ingress starts a trace, and Foreman still gets one', async (t) => {
  t.equal((await fetch(`${hub.ingressUrl}/api/v2/hosts/facts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'untraced.example.com', facts: {} }) })).status, 202);
  // A malformed one is replaced, not passed on.
  t.equal((await fetch(`${hub.ingressUrl}/api/v2/hosts/facts`, { method: 'POST', headers: { 'content-type': 'application/json', traceparent: `00-${'0'.repeat(32)}-${CALLER_SPAN}-01` }, body: JSON.stringify({ name: 'zero-trace.example.com', facts: {} }) })).status, 202);
  const untraced = await waitFor(() => foreman.delivered('/api/v2/hosts/facts').find((r) => (r.body as { name: string }).name === 'untraced.example.com'));
  const zero = await waitFor(() => foreman.delivered('/api/v2/hosts/facts').find((r) => (r.body as { name: string }).name === 'zero-trace.example.com'));
  t.not(parts(untraced.headers.traceparent).traceId, TRACE_ID, 'a new trace');
  t.not(parts(zero.headers.traceparent).traceId, '0'.repeat(32), 'the invalid all-zero trace id is not continued');
  t.not(parts(untraced.headers.traceparent).traceId, parts(zero.headers.traceparent).traceId, 'one trace per upload');
});

t.test('a registration request carries it over request/reply (AMQP headers or application properties)', async (t) => {
  const answer = await fetch(`${hub.ingressUrl}/register?organization_id=1`, { headers: { authorization: 'Bearer x', traceparent: `00-${TRACE_ID}-${CALLER_SPAN}-00` } });
  t.equal(answer.status, 200);
  const seen = foreman.requests.find((r) => r.path === '/register');
  const received = parts(seen?.headers.traceparent);
  t.equal(received.traceId, TRACE_ID);
  t.equal(received.flags, '00', 'an unsampled trace stays unsampled');
  t.not(received.spanId, CALLER_SPAN, 'the worker’s span, not the client’s header passed through');
});
