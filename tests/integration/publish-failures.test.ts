/**
 * The broker refusing an upload is a fast 503 with Retry-After, never a hang and never a 202:
 * here, a message no queue accepts (`mandatory` makes RabbitMQ return it before confirming).
 */
import t from 'tap';
import { createTopology } from '../../contracts/topology.ts';
import { deleteTopology, queueDepth, startTestHub, testConfig, testPrefix, withChannel } from '../helpers/hub-harness.ts';

const prefix = testPrefix();
const config = testConfig(prefix, 'http://127.0.0.1:9');
const hub = await startTestHub(config, 'ingress');
const topology = createTopology(prefix);
t.teardown(async () => {
  await hub.close();
  await deleteTopology(prefix);
});

const upload = () => fetch(`${hub.ingressUrl}/api/v2/hosts/facts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name": "a.example.com", "facts": {}}' });

t.test('an event no queue accepts is answered 503, not 202', async (t) => {
  await withChannel((channel) => channel.unbindQueue(topology.workQueue('facts'), topology.eventsExchange, 'facts.uploaded.v1'));
  const started = performance.now();
  const response = await upload();
  t.equal(response.status, 503);
  t.ok(performance.now() - started < 1000, 'answered within a second');
  t.ok(Number(response.headers.get('retry-after')) > 0, 'with Retry-After');
  const problem = (await response.json()) as { code: string };
  t.equal(problem.code, 'PROXYHUB_BUS_UNROUTABLE');
  t.equal(await queueDepth(topology.workQueue('facts')), 0, 'nothing stored');
});

t.test('once a queue is bound again uploads are accepted', async (t) => {
  await withChannel((channel) => channel.bindQueue(topology.workQueue('facts'), topology.eventsExchange, 'facts.uploaded.v1'));
  const response = await upload();
  t.equal(response.status, 202);
  t.equal(await queueDepth(topology.workQueue('facts')), 1);
});
