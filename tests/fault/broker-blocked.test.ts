/**
 * A broker under a memory alarm blocks publishers (connection.blocked). The ingress turns that
 * into an immediate 503 instead of letting uploads wait on a socket the broker stopped reading,
 * and accepts again once the alarm clears.
 * Runs alone (@runs-alone; see scripts/test.mjs): the alarm blocks every publisher on the broker.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import t from 'tap';
import { createTopology } from '../../contracts/topology.ts';
import { deleteTopology, queueDepth, startTestHub, testConfig, testPrefix } from '../helpers/hub-harness.ts';
import { TestForeman } from '../helpers/test-foreman.ts';
import { waitFor } from '../helpers/wait-for.ts';

const run = promisify(execFile);
const prefix = testPrefix();
const config = testConfig(prefix, 'http://127.0.0.1:9');
const hub = await startTestHub(config, 'ingress');
const restoreWatermark = () => run('rabbitmqctl', ['set_vm_memory_high_watermark', '0.4']);
t.teardown(async () => {
  await restoreWatermark();
  await hub.close();
  await deleteTopology(prefix);
});

async function upload(): Promise<{ status: number; ms: number; code?: string; retryAfter: string | null }> {
  const started = performance.now();
  const response = await fetch(`${hub.ingressUrl}/api/v2/hosts/facts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name": "a.example.com", "facts": {}}', signal: AbortSignal.timeout(10_000) });
  const body = (await response.json()) as { code?: string };
  return { status: response.status, ms: performance.now() - started, retryAfter: response.headers.get('retry-after'), ...(body.code ? { code: body.code } : {}) };
}

t.test('a memory alarm gives fast 503s, and uploads resume when it clears', async (t) => {
  t.equal((await upload()).status, 202, 'accepted before the alarm');
  await run('rabbitmqctl', ['set_vm_memory_high_watermark', 'absolute', '1MB']);
  // The broker tells a publishing connection it is blocked when that connection next publishes.
  const blocked = await waitFor(async () => {
    const answer = await upload();
    return answer.code === 'PROXYHUB_BUS_BLOCKED' && answer;
  }, { timeoutMs: 20_000, what: 'the ingress to see the block' });
  t.equal(blocked.status, 503);
  t.ok(Number(blocked.retryAfter) > 0, 'with Retry-After');
  const during = await Promise.all(Array.from({ length: 20 }, upload));
  t.ok(during.every((a) => a.status === 503), 'every upload during the alarm is refused');
  t.ok(Math.max(...during.map((a) => a.ms)) < 1000, `none waits (slowest ${Math.max(...during.map((a) => a.ms)).toFixed(0)} ms)`);
  await restoreWatermark();
  await waitFor(async () => (await upload()).status === 202, { timeoutMs: 20_000, what: 'uploads accepted again' });
  t.pass('accepted again after the alarm cleared');
});

t.test('a worker that must dead-letter during the alarm holds the event instead of spinning', async (t) => {
  const foreman = new TestForeman();
  await foreman.start();
  const workerPrefix = testPrefix();
  const workerConfig = testConfig(workerPrefix, foreman.url);
  const workerHub = await startTestHub(workerConfig, 'ingress,worker:facts');
  t.teardown(async () => {
    await restoreWatermark();
    await workerHub.close();
    await foreman.stop();
    await deleteTopology(workerPrefix);
  });
  foreman.rejectHosts.add('refused.example.com');
  foreman.fault = { delayMs: 1500 };
  const response = await fetch(`${workerHub.ingressUrl}/api/v2/hosts/facts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name": "refused.example.com", "facts": {}}' });
  t.equal(response.status, 202);
  await waitFor(() => foreman.received === 1, { what: 'the call in flight' });
  await run('rabbitmqctl', ['set_vm_memory_high_watermark', 'absolute', '1MB']);
  // Foreman answers 422 while publishers are blocked: the dead letter cannot be published yet.
  await new Promise((r) => setTimeout(r, 4000));
  t.equal(foreman.received, 1, 'no repeated POST while the worker waits for the broker');
  const topology = createTopology(workerPrefix);
  await restoreWatermark();
  await waitFor(async () => (await queueDepth(topology.deadLetterQueue('facts'))) === 1, { timeoutMs: 20_000, what: 'the dead letter once the alarm cleared' });
  t.equal(foreman.received, 1, 'still a single POST: the 422 was dead-lettered, not redelivered');
});
