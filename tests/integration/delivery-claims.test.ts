/**
 * The per-event claim workers take before delivering (workers/runtime/delivery-claims.ts), on the
 * machine's Redis: a second copy waits while the first is delivered and then counts as a
 * duplicate; it goes ahead once the first gives up, or once a dead holder's lease runs out.
 */
import t from 'tap';
import { Redis } from 'ioredis';
import { createTopology } from '../../contracts/topology.ts';
import { createDeliveryClaims, type DeliveryClaim } from '../../workers/runtime/delivery-claims.ts';
import { REDIS_URL, deleteRedisKeys, testPrefix } from '../helpers/hub-harness.ts';

const prefix = testPrefix();
const topology = createTopology(prefix);
const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
t.teardown(async () => {
  await deleteRedisKeys(prefix);
  redis.disconnect();
});

const delivered = (eventId: string): Promise<boolean> => redis.exists(topology.deliveredKey('facts', eventId)).then((n) => n === 1);
const claims = createDeliveryClaims({ redis, claimKey: (id) => topology.claimKey('facts', id), isDelivered: delivered, leaseMs: 600, pollMs: 20, onRedisError: (error) => t.fail(String(error)) });
const never = new AbortController().signal;

function isClaim(value: DeliveryClaim | 'delivered'): value is DeliveryClaim {
  return value !== 'delivered';
}

t.test('a second copy waits for the first and is a duplicate once it delivered', async (t) => {
  const first = await claims.acquire('e1', never);
  t.ok(isClaim(first), 'the first copy may deliver');
  let secondOutcome: DeliveryClaim | 'delivered' | undefined;
  const second = claims.acquire('e1', never).then((outcome) => (secondOutcome = outcome));
  await new Promise((r) => setTimeout(r, 300));
  t.equal(secondOutcome, undefined, 'the second copy waits while the first holds the claim (renewed past its lease)');
  await redis.set(topology.deliveredKey('facts', 'e1'), '1', 'EX', 60);
  if (isClaim(first)) await first.release();
  t.equal(await second, 'delivered', 'then it is a duplicate');
});

t.test('a copy goes ahead once the first gave up', async (t) => {
  const first = await claims.acquire('e2', never);
  const second = claims.acquire('e2', never);
  if (isClaim(first)) await first.release();
  const outcome = await second;
  t.ok(isClaim(outcome), 'the second copy may deliver');
  if (isClaim(outcome)) await outcome.release();
});

t.test("a dead holder's claim runs out", async (t) => {
  // A claim nobody renews: what a SIGKILLed worker leaves behind.
  await redis.set(topology.claimKey('facts', 'e3'), 'dead-worker', 'PX', 600);
  const started = Date.now();
  const outcome = await claims.acquire('e3', never);
  t.ok(isClaim(outcome) && Date.now() - started >= 400, 'taken after the lease ran out');
  if (isClaim(outcome)) await outcome.release();
});

t.test('waiting ends when the worker shuts down', async (t) => {
  const first = await claims.acquire('e4', never);
  const shutdown = new AbortController();
  const waiting = claims.acquire('e4', shutdown.signal);
  shutdown.abort(new Error('worker shutting down'));
  await t.rejects(waiting, /worker shutting down/);
  if (isClaim(first)) await first.release();
});
