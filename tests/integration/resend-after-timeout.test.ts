/**
 * A 503 that is not a refusal: the broker confirmed too late (`PROXYHUB_BUS_TIMEOUT`), so the
 * upload was queued all the same while its host was told to retry. The host resends as the 503
 * asked, until it gets a 202; Foreman must still see the upload once, not once per attempt. The
 * hub reaches the broker through a link that holds the broker's answers back 1 s, past the
 * 250 ms confirm deadline, so every attempt meets such a late confirm.
 * Runs once per transport (@every-transport; see scripts/test.mjs).
 */
import t from 'tap';
import { createTopology } from '../../contracts/topology.ts';
import { queueDepth, testConfig } from '../helpers/hub-harness.ts';
import { TestForeman } from '../helpers/test-foreman.ts';
import { startHubFor, usePrefix } from '../helpers/test-hub.ts';
import { holdsFor, waitFor } from '../helpers/wait-for.ts';
import { startSlowLink } from '../helpers/slow-link.ts';

const foreman = new TestForeman();
await foreman.start();
t.teardown(() => foreman.stop());
const prefix = usePrefix(t);
const brokerUrl = new URL(testConfig(prefix, foreman.url).amqpUrl);
const link = await startSlowLink({ host: brokerUrl.hostname, port: Number(brokerUrl.port || 5672) });
t.teardown(() => link.close());
brokerUrl.port = String(link.port);
const config = testConfig(prefix, foreman.url, { amqpUrl: brokerUrl.href, publish: { confirmTimeoutMs: 250 } });
const hub = await startHubFor(t, config, 'ingress,worker:facts');
const facts = createTopology(prefix).workQueue('facts');

const deliveriesOf = (name: string): number => foreman.delivered('/api/v2/hosts/facts').filter((request) => (request.body as { name?: string }).name === name).length;

/** Posts the same upload until it is accepted or `attempts` run out, as a host that honours Retry-After would. */
async function uploadWithRetries(name: string, value: string, attempts: number): Promise<{ statuses: number[]; codes: string[] }> {
  const statuses: number[] = [];
  const codes: string[] = [];
  for (let attempt = 0; attempt < attempts; attempt += 1) {
    const response = await fetch(`${hub.ingressUrl}/api/v2/hosts/facts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, facts: { value } }) });
    const body = (await response.json()) as { code?: string };
    statuses.push(response.status);
    if (body.code !== undefined) codes.push(body.code);
    if (response.status === 202) break;
  }
  return { statuses, codes };
}

t.test('a resend after a late confirm is delivered once, however often it was queued', async (t) => {
  // One upload at full speed first: over AMQP 1.0 the first publish of a route looks it up and
  // attaches a link, round trips a slow link would fail before the message was ever sent.
  // (A busy machine may confirm even these late: then the retries are what is being tested too.)
  t.equal((await uploadWithRetries('warm.example.com', 'zero', 5)).statuses.at(-1), 202, 'accepted at full speed');
  link.delayMs = 1000;
  const first = await uploadWithRetries('resent.example.com', 'one', 3);
  link.delayMs = 0;
  t.comment(`answers: ${first.statuses.join(', ')}`);
  t.same(first.codes, ['PROXYHUB_BUS_TIMEOUT', 'PROXYHUB_BUS_TIMEOUT', 'PROXYHUB_BUS_TIMEOUT'], 'each attempt: the broker confirmed too late');
  const other = await uploadWithRetries('other.example.com', 'two', 5);
  t.equal(other.statuses.at(-1), 202, 'the link back to speed: accepted');
  await waitFor(() => deliveriesOf('resent.example.com') >= 1 && deliveriesOf('other.example.com') >= 1, { what: 'both uploads delivered' });
  await waitFor(async () => (await queueDepth(facts)) === 0, { what: 'every queued copy consumed' });
  const once = (): boolean => ['warm', 'resent', 'other'].every((host) => deliveriesOf(`${host}.example.com`) === 1);
  t.ok(await holdsFor(once, 2000, 100), `each delivered once (${first.statuses.length} attempts for the resent one)`);
});
