/**
 * Permanent failures: Foreman's 422 and a message that breaks its contract are dead-lettered with
 * the reason, listed and shown by `proxyhub dlq`, and `replay` delivers once Foreman accepts.
 * Runs once per transport, AMQP 0-9-1 and AMQP 1.0 (@every-transport; see scripts/test.mjs).
 */
import t from 'tap';
import { runCli } from '../helpers/cli.ts';
import { queueDepth, testConfig, testPrefix, withChannel } from '../helpers/hub-harness.ts';
import { startHubWithForeman } from '../helpers/hub-with-foreman.ts';
import { waitFor } from '../helpers/wait-for.ts';

const { foreman, hub, config, topology } = await startHubWithForeman(t);

const FACTS = '/api/v2/hosts/facts';
const building = 'building.example.com';
let rejectedId = '';

t.test('Foreman 422 dead-letters the event with Foreman’s reason, without retrying', async (t) => {
  foreman.rejectHosts.add(building);
  const response = await fetch(`${hub.ingressUrl}${FACTS}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: building, facts: { a: 1 } }) });
  t.equal(response.status, 202, 'accepted: Foreman is asked later');
  rejectedId = ((await response.json()) as { id: string }).id;
  await waitFor(async () => (await queueDepth(topology.deadLetterQueue('facts'))) === 1, { what: 'the dead letter' });
  t.equal(foreman.attempts(FACTS), 1, 'a 422 is final: one attempt, no retries');
});

t.test('a message that breaks its contract is dead-lettered, and the worker keeps going', async (t) => {
  await withChannel(async (channel) => {
    channel.sendToQueue(topology.workQueue('facts'), Buffer.from('{"not": "an event"'), { messageId: 'garbage-1', persistent: true });
    await channel.waitForConfirms();
  });
  await waitFor(async () => (await queueDepth(topology.deadLetterQueue('facts'))) === 2, { what: 'the second dead letter' });
  const response = await fetch(`${hub.ingressUrl}${FACTS}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'fine.example.com', facts: {} }) });
  t.equal(response.status, 202);
  await waitFor(() => foreman.delivered(FACTS).some((r) => (r.body as { name: string }).name === 'fine.example.com'), { what: 'a later good event' });
});

t.test('proxyhub dlq list shows both with their reasons', async (t) => {
  const result = await runCli(config, ['dlq', 'list', '--json']);
  t.equal(result.code, 0, result.stderr);
  const rows = JSON.parse(result.stdout) as Array<{ id: string; feature: string; code: string; reason: string; upstreamStatus?: number }>;
  t.equal(rows.length, 2);
  const rejected = rows.find((r) => r.id === rejectedId);
  t.equal(rejected?.code, 'PROXYHUB_FOREMAN_REJECTED');
  t.equal(rejected?.upstreamStatus, 422);
  t.match(rejected?.reason, /Host is pending for Build/, 'Foreman’s own message is kept');
  const garbage = rows.find((r) => r.id === 'garbage-1');
  t.equal(garbage?.code, 'PROXYHUB_EVENT_INVALID');
  const table = await runCli(config, ['dlq', 'list']);
  t.match(table.stdout, new RegExp(`${rejectedId}\\s+facts\\s+facts.uploaded.v1\\s+PROXYHUB_FOREMAN_REJECTED\\s+422`), 'the table lines up');
  t.equal(await queueDepth(topology.deadLetterQueue('facts')), 2, 'listing takes nothing away');
});

t.test('proxyhub dlq show prints the whole event', async (t) => {
  const result = await runCli(config, ['dlq', 'show', rejectedId]);
  t.equal(result.code, 0, result.stderr);
  const shown = JSON.parse(result.stdout) as { event: { data: { name: string } }; headers: Record<string, unknown> };
  t.equal(shown.event.data.name, building);
  t.equal(shown.headers['x-proxyhub-error-code'], 'PROXYHUB_FOREMAN_REJECTED');
  const missing = await runCli(config, ['dlq', 'show', 'no-such-id']);
  t.equal(missing.code, 3, 'not found');
});

t.test('proxyhub dlq replay delivers once Foreman accepts, and leaves the rest', async (t) => {
  foreman.rejectHosts.delete(building);
  const result = await runCli(config, ['dlq', 'replay', '--id', rejectedId]);
  t.equal(result.code, 0, result.stderr);
  t.match(result.stdout, /replayed 1, left 1/);
  t.match(result.stderr, /replay facts \[#+\.*\]/, 'progress is shown');
  const delivered = await waitFor(() => foreman.delivered(FACTS).find((r) => (r.body as { name: string }).name === building), { what: 'the replayed event' });
  t.same(delivered.body, { name: building, facts: { a: 1 } }, 'the original upload, unchanged');
  t.equal(await queueDepth(topology.deadLetterQueue('facts')), 1, 'only the broken message is left');
  const refused = await runCli(config, ['dlq', 'replay']);
  t.equal(refused.code, 2, 'replay without --id or --all is a usage error');
});

t.test('replaying while Foreman still refuses ends, and the event is back in the DLQ once', async (t) => {
  const stubborn = 'stubborn.example.com';
  foreman.rejectHosts.add(stubborn);
  const response = await fetch(`${hub.ingressUrl}${FACTS}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: stubborn, facts: {} }) });
  const { id } = (await response.json()) as { id: string };
  await waitFor(async () => (await queueDepth(topology.deadLetterQueue('facts'))) === 2, { what: 'the stubborn dead letter' });
  const attemptsBefore = foreman.requests.filter((r) => (r.body as { name?: string }).name === stubborn).length;
  const result = await runCli(config, ['dlq', 'replay', '--all']);
  t.equal(result.code, 0, result.stderr);
  t.match(result.stdout, /replayed 2, left 0/, 'each dead letter replayed once, although workers send the stubborn one straight back');
  await waitFor(async () => (await queueDepth(topology.deadLetterQueue('facts'))) === 2, { what: 'both back in the DLQ' });
  const attemptsAfter = foreman.requests.filter((r) => (r.body as { name?: string }).name === stubborn).length;
  t.equal(attemptsAfter - attemptsBefore, 1, 'Foreman was asked once more, not in a loop');
  const rows = JSON.parse((await runCli(config, ['dlq', 'list', '--json'])).stdout) as Array<{ id: string }>;
  t.equal(rows.filter((r) => r.id === id).length, 1);
});

t.test('dlq on a prefix nothing has declared says so plainly', async (t) => {
  const fresh = testConfig(testPrefix(), foreman.url);
  const result = await runCli(fresh, ['dlq', 'list']);
  t.equal(result.code, 1);
  t.match(result.stderr, /does not exist: no proxyhub process has declared it/);
  t.notMatch(result.stderr, /at .+\.js:\d+/, 'no stack trace');
});
