/**
 * Per-identity rate limits answer 429 with Retry-After (problem+json), counted per certificate
 * CN so hosts do not share a budget; load shedding answers 503 after the event loop lagged.
 */
import t from 'tap';
import { testConfig } from '../helpers/hub-harness.ts';
import { createTestPki } from '../helpers/pki.ts';
import { startHubFor, usePrefix } from '../helpers/test-hub.ts';
import { tlsClient } from '../helpers/tls-client.ts';

const pki = createTestPki();
t.teardown(() => pki.remove());
const prefix = usePrefix(t);
const LIMIT = 5;
const config = testConfig(prefix, 'http://127.0.0.1:9', {
  tls: { cert: pki.server.cert, key: pki.server.key, ca: pki.caCert },
  limits: { ratePerMinute: LIMIT, maxEventLoopDelayMs: 200 },
});
// Certificates first: openssl runs synchronously and would trip the 200 ms delay limit.
const first = tlsClient(pki, pki.client('first.example.com'));
const second = tlsClient(pki, pki.client('second.example.com'));
const hub = await startHubFor(t, config, 'ingress');
t.teardown(async () => {
  await first.close();
  await second.close();
});

const upload = (client: typeof first, name: string) => client.send('POST', `${hub.ingressUrl}/api/v2/hosts/facts`, { name, facts: {} });

t.test('past the limit a host gets 429 with Retry-After; another host is unaffected', async (t) => {
  const statuses: number[] = [];
  for (let i = 0; i < LIMIT + 2; i += 1) statuses.push((await upload(first, 'first.example.com')).status);
  t.same(statuses.slice(0, LIMIT), Array(LIMIT).fill(202), `the first ${LIMIT} are accepted`);
  t.same(statuses.slice(LIMIT), [429, 429], 'then 429');
  const raw = await fetch(`${hub.ingressUrl}/healthz`).catch(() => undefined);
  t.equal(raw, undefined, 'plain HTTP is not served on a TLS listener');
  const limited = await upload(first, 'first.example.com');
  t.equal(limited.body.code, 'PROXYHUB_RATE_LIMITED');
  t.ok(Number(limited.headers['retry-after']) > 0, `Retry-After: ${String(limited.headers['retry-after'])}`);
  t.equal((await upload(second, 'second.example.com')).status, 202, 'the budget is per certificate CN');
});

t.test('a lagging event loop sheds load with 503 instead of queueing requests', async (t) => {
  // Hold the loop as a CPU-bound burst would: the lag sampler then runs 2.5 s late, and the
  // listener sheds until the loop has been calm for a second (hub/http/admission.ts).
  const until = Date.now() + 2500;
  while (Date.now() < until) {
    /* busy */
  }
  await new Promise((r) => setTimeout(r, 50));
  const answer = await upload(second, 'second.example.com');
  t.equal(answer.status, 503);
  t.equal(answer.body.code, 'PROXYHUB_OVERLOADED');
  t.ok(Number(answer.headers['retry-after']) > 0, 'with Retry-After');
});
