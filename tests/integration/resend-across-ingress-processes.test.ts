/**
 * The resend after a late confirm (resend-after-timeout.test.ts), on an ingress of two processes
 * (`PROXYHUB_INGRESS_PROCESSES=2`): each attempt comes on a new connection, so the attempts go to
 * the two processes in turn, and the one that did not answer the first 503 must still know its
 * id (the primary relays it). Foreman sees the upload once.
 * Runs once per transport (@every-transport; see scripts/test.mjs).
 */
import t from 'tap';
import { createTopology } from '../../contracts/topology.ts';
import { fixedTestPort, queueDepth, testConfig } from '../helpers/hub-harness.ts';
import { TestForeman } from '../helpers/test-foreman.ts';
import { spawnHubFor, startHubFor, usePrefix } from '../helpers/test-hub.ts';
import { holdsFor, waitFor } from '../helpers/wait-for.ts';
import { startSlowLink } from '../helpers/slow-link.ts';
import { factsAnswerPids } from '../helpers/hub-log.ts';
import { uploadFactsOnNewConnection, type NewConnectionAnswer } from '../helpers/ingress-connection.ts';

const foreman = new TestForeman();
await foreman.start();
t.teardown(() => foreman.stop());
const prefix = usePrefix(t);
const base = testConfig(prefix, foreman.url);
const brokerUrl = new URL(base.amqpUrl);
const link = await startSlowLink({ host: brokerUrl.hostname, port: Number(brokerUrl.port || 5672) });
t.teardown(() => link.close());
brokerUrl.port = String(link.port);
const INGRESS_PORT = fixedTestPort();
// The ingress alone, through the slow link, without Foreman settings (an ingress-only process refuses them).
const ingressConfig = testConfig(prefix, foreman.url, {
  amqpUrl: brokerUrl.href,
  publish: { confirmTimeoutMs: 250 },
  foreman: {},
  ingress: { host: '127.0.0.1', port: INGRESS_PORT },
  limits: { ...base.limits, ingressProcesses: 2 },
});
const ingress = await spawnHubFor(t, ingressConfig, 'ingress');
await startHubFor(t, base, 'worker:facts');
const facts = createTopology(prefix).workQueue('facts');

const deliveriesOf = (name: string): number => foreman.delivered('/api/v2/hosts/facts').filter((upload) => (upload.body as { name?: string }).name === name).length;

/** Posts the same upload, each time on a new connection, until it is accepted or `attempts` run out. */
async function uploadWithRetries(name: string, value: string, attempts: number): Promise<NewConnectionAnswer[]> {
  const answers: NewConnectionAnswer[] = [];
  for (let attempt = 0; attempt < attempts; attempt += 1) {
    const answer = await uploadFactsOnNewConnection(INGRESS_PORT, name, { value });
    answers.push(answer);
    if (answer.status === 202) break;
  }
  return answers;
}

t.test('a resend that reaches the other ingress process goes out under the first id', async (t) => {
  // Both processes publish once at full speed first (over AMQP 1.0 the first publish of a route
  // attaches a link, round trips a slow link would fail before anything was sent).
  for (const host of ['warm-1', 'warm-2']) t.equal((await uploadWithRetries(`${host}.example.com`, 'zero', 5)).at(-1)?.status, 202, `${host}: accepted at full speed`);
  link.delayMs = 1000;
  const first = await uploadWithRetries('resent.example.com', 'one', 4);
  link.delayMs = 0;
  t.comment(`answers: ${first.map((answer) => answer.status).join(', ')}`);
  t.same(first.map((answer) => answer.code), ['PROXYHUB_BUS_TIMEOUT', 'PROXYHUB_BUS_TIMEOUT', 'PROXYHUB_BUS_TIMEOUT', 'PROXYHUB_BUS_TIMEOUT'], 'each attempt: the broker confirmed too late');
  await waitFor(() => new Set(factsAnswerPids(ingress)).size === 2 || undefined, { what: 'access log lines from both processes' });
  t.equal(new Set(factsAnswerPids(ingress)).size, 2, 'the attempts reached both ingress processes');
  const other = await uploadWithRetries('other.example.com', 'two', 5);
  t.equal(other.at(-1)?.status, 202, 'the link back to speed: accepted');
  await waitFor(() => deliveriesOf('resent.example.com') >= 1 && deliveriesOf('other.example.com') >= 1, { what: 'both uploads delivered' });
  await waitFor(async () => (await queueDepth(facts)) === 0, { what: 'every queued copy consumed' });
  const once = (): boolean => ['warm-1', 'warm-2', 'resent', 'other'].every((host) => deliveriesOf(`${host}.example.com`) === 1);
  t.ok(await holdsFor(once, 2000, 100), `each delivered once (${first.length} attempts for the resent one, on both processes)`);
});
