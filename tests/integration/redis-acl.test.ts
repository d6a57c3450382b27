/**
 * The REX roles work with their own Redis ACL users (contracts/broker-accounts.ts): the control
 * role's job store launches, reads and cancels, the rex worker runs a job, writes its output and
 * queues the callback. A dedup-only worker user reaches its dedup keys and nothing of BullMQ.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import t from 'tap';
import { accountName, redisAclRules, type AccountRole } from '../../contracts/broker-accounts.ts';
import { createTopology } from '../../contracts/topology.ts';
import type { CallbackJob, RexResult } from '../../contracts/rex/job.ts';
import { roleUrl } from '../../cli/broker-setup.ts';
import { createLogger } from '../../hub/log/logger.ts';
import { RexJobStore } from '../../hub/jobs/rex-job-store.ts';
import { createRexWorkers } from '../../hub/jobs/rex-workers.ts';
import { REDIS_URL, deleteRedisKeys, testPrefix } from '../helpers/hub-harness.ts';
import { waitFor } from '../helpers/wait-for.ts';

const prefix = testPrefix();
const topology = createTopology(prefix);
const logger = createLogger('silent');
const admin = new Redis(REDIS_URL);
const users: string[] = [];

async function aclUser(role: AccountRole): Promise<string> {
  const user = accountName(topology, role);
  const password = randomBytes(18).toString('base64url');
  await admin.call('ACL', 'SETUSER', user, 'reset', 'on', `>${password}`, ...(redisAclRules(topology, role) ?? []));
  users.push(user);
  return roleUrl(REDIS_URL, user, password);
}

const controlUrl = await aclUser('control');
const rexUrl = await aclUser('rex');
const factsUrl = await aclUser('facts');
t.teardown(async () => {
  for (const user of users) await admin.call('ACL', 'DELUSER', user);
  await deleteRedisKeys(prefix);
  admin.disconnect();
});

t.test('the control store and the rex worker work with their own users', async (t) => {
  const control = new RexJobStore({ redis: { url: controlUrl }, topology, logger, keepFinishedSeconds: 60, failFast: true });
  const worker = new RexJobStore({ redis: { url: rexUrl }, topology, logger, keepFinishedSeconds: 60 });
  const callbacks: Array<CallbackJob & { result: RexResult }> = [];
  const workers = createRexWorkers(worker, { redis: { url: rexUrl }, logger, concurrency: 1, lockDurationMs: 5000, callbackBackoffMaxMs: 1000, shutdownGraceMs: 1000 }, {
    async process(job) {
      await job.setProgress({ state: 'running', startedAt: Date.now() });
      await job.appendOutput({ output_type: 'stdout', output: 'hello from the acl test', timestamp: Date.now() / 1000 });
      await worker.markPullInFlight(job.id, Date.now() + 1000);
      await worker.addHostJob('acl.example.com', job.id, Date.now());
      const result = { exit_status: 0, exit_status_timestamp: Date.now() / 1000 };
      await worker.enqueueCallback({ planId: job.id, callback: { task_id: 'task', step_id: 1 }, result });
      return result;
    },
    async sendCallback(job) {
      callbacks.push(job);
    },
    async onFailed() {},
  });
  t.teardown(async () => {
    await workers.close();
    await worker.close();
    await control.close();
  });
  await control.start();
  await worker.start();
  await workers.start();
  const planId = `plan-${prefix}`;
  const input = { hostname: 'acl.example.com', script: 'true', callback: { task_id: 'task', step_id: 1 } };
  t.same(await control.launch(`batch-${prefix}`, [{ planId, batchId: `batch-${prefix}`, actionClass: 'ssh', input, launchedAt: Date.now() }]), { batchId: `batch-${prefix}`, added: 1 });
  await waitFor(() => callbacks.length === 1, { what: 'the callback' });
  const job = await waitFor(async () => {
    const view = await control.job(planId);
    return view?.state === 'completed' && view;
  });
  t.equal(job.result?.exit_status, 0, 'the control store reads the result');
  t.match(await control.output(planId), [{ output: 'hello from the acl test' }], 'and the output');
  t.equal(await control.requestCancel(planId), false, 'a finished job is not cancelled, and asking works');
  t.same(await worker.hostJobs('acl.example.com'), [planId], 'REX markers beside the BullMQ keys');
});

t.test('a dedup-only worker user cannot touch BullMQ or REX keys', async (t) => {
  const facts = new Redis(factsUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  t.teardown(() => facts.disconnect());
  await facts.connect();
  t.equal(await facts.set(topology.deliveredKey('facts', 'e1'), '1', 'EX', 60), 'OK', 'its dedup record');
  t.equal(await facts.exists(topology.deliveredKey('facts', 'e1')), 1);
  await t.rejects(facts.set(`${topology.bullPrefix}:rex-jobs:x`, '1'), /NOPERM/, 'no BullMQ key');
  await t.rejects(facts.exists(`${topology.bullPrefix}:rex-jobs:meta`), /NOPERM/, 'not even to read one');
  await t.rejects(facts.call('EVAL', 'return 1', '0'), /NOPERM/, 'no Lua script');
  await t.rejects(facts.set(topology.rexCancelKey('p'), '1'), /NOPERM/, 'no REX marker');
  await t.rejects(facts.flushall(), /NOPERM/, 'no FLUSHALL');
  await t.rejects(facts.set(`other-prefix:delivered:facts:e1`, '1'), /NOPERM/, 'another prefix is out of reach');
});
