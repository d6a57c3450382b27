/**
 * The broker refusing an upload is a fast 503 with Retry-After, never a hang and never a 202:
 * here, a message no queue accepts. Over 0-9-1 that is an unbound queue (`mandatory` makes
 * RabbitMQ return it before confirming). Over AMQP 1.0 on RabbitMQ 3.x the hub routes its own
 * events straight to the bound queues (the plugin would accept an unroutable message and drop
 * it), so there a missing queue is what no queue accepts, and an unbinding loses nothing.
 * Runs once per transport, AMQP 0-9-1 and AMQP 1.0 (@every-transport; see scripts/test.mjs).
 */
import t from 'tap';
import { createTopology, workQueueArguments } from '../../contracts/topology.ts';
import { TEST_TRANSPORT, queueDepth, testConfig, withChannel } from '../helpers/hub-harness.ts';
import { startHubFor, usePrefix } from '../helpers/test-hub.ts';

const prefix = usePrefix(t);
const config = testConfig(prefix, 'http://127.0.0.1:9');
const hub = await startHubFor(t, config, 'ingress');
const topology = createTopology(prefix);
const facts = topology.workQueue('facts');

const upload = () => fetch(`${hub.ingressUrl}/api/v2/hosts/facts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name": "a.example.com", "facts": {}}' });

/** Takes the facts route away the way that matters for the transport under test. */
const breakRoute = () => withChannel(async (channel) => (TEST_TRANSPORT === 'amqp10' ? void (await channel.deleteQueue(facts)) : void (await channel.unbindQueue(facts, topology.eventsExchange, 'facts.uploaded.v1'))));
const restoreRoute = () =>
  withChannel(async (channel) => {
    await channel.assertQueue(facts, { durable: true, arguments: workQueueArguments(topology, 'facts') });
    await channel.bindQueue(facts, topology.eventsExchange, 'facts.uploaded.v1');
  });

t.test('an event no queue accepts is answered 503, not 202', async (t) => {
  await breakRoute();
  const started = performance.now();
  const response = await upload();
  t.equal(response.status, 503);
  t.ok(performance.now() - started < 1000, 'answered within a second');
  t.ok(Number(response.headers.get('retry-after')) > 0, 'with Retry-After');
  const problem = (await response.json()) as { code: string };
  t.equal(problem.code, 'PROXYHUB_BUS_UNROUTABLE');
  await restoreRoute();
  t.equal(await queueDepth(facts), 0, 'nothing stored');
});

t.test('once a queue is bound again uploads are accepted', async (t) => {
  await restoreRoute();
  const response = await upload();
  t.equal(response.status, 202);
  t.equal(await queueDepth(facts), 1);
});

t.test('over AMQP 1.0, an unbinding does not swallow events answered 202', { skip: TEST_TRANSPORT !== 'amqp10' && 'AMQP 1.0 only' }, async (t) => {
  await withChannel((channel) => channel.unbindQueue(facts, topology.eventsExchange, 'facts.uploaded.v1'));
  const response = await upload();
  t.equal(response.status, 202);
  t.equal(await queueDepth(facts), 2, 'stored in the work queue all the same');
  await restoreRoute();
});
