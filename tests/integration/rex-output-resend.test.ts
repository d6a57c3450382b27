/**
 * A chunk of REX output sent to Redis again after a dropped connection is stored once.
 *
 * ioredis sends a command again when the connection closed before its answer came
 * (`autoResendUnfulfilledCommands`, on by default); after a Sentinel failover the new primary
 * may already hold what the old one applied and replicated. The resend is the same command with
 * the same arguments, so these tests run the cap's script twice with one call id, against the
 * real Redis, on a real BullMQ job.
 */
import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import t from 'tap';
import type { OutputChunk } from '../../contracts/rex/job.ts';
import { APPEND_CAPPED_OUTPUT, appendCappedOutput, cappedAppendArguments, truncationNotice, type CappedAppendReply, type OutputKind } from '../../hub/jobs/rex-output-cap.ts';
import { REDIS_URL, deleteRedisKeys, testPrefix } from '../helpers/hub-harness.ts';

const prefix = testPrefix();
const redis = new Redis(REDIS_URL);
const queue = new Queue('rex-output', { connection: redis, prefix });
t.teardown(async () => {
  await queue.close();
  await deleteRedisKeys(prefix);
  redis.disconnect();
});

const chunk = (output: string): OutputChunk => ({ output_type: 'stdout', output, timestamp: 1_780_000_000.5 });

async function newJob(): Promise<string> {
  const planId = `plan-${randomBytes(6).toString('hex')}`;
  await queue.add('job', {}, { jobId: planId, delay: 3_600_000 });
  return planId;
}

/** One call of the script, as ioredis sends it and as it sends it again after a reconnect. */
async function call(planId: string, cap: number, stored: OutputChunk, callId: string, kind: OutputKind = 'counted'): Promise<CappedAppendReply> {
  const key = queue.toKey(planId);
  return (await redis.eval(APPEND_CAPPED_OUTPUT, 2, key, `${key}:logs`, ...cappedAppendArguments(cap, stored, callId, kind))) as CappedAppendReply;
}

const logsOf = async (planId: string): Promise<OutputChunk[]> => (await redis.lrange(`${queue.toKey(planId)}:logs`, 0, -1)).map((line) => JSON.parse(line) as OutputChunk);

t.test('a call sent again is answered as the first time and stores nothing more', async (t) => {
  const planId = await newJob();
  t.strictSame(await call(planId, 100, chunk('done\n'), 'call-1'), ['stored']);
  t.strictSame(await call(planId, 100, chunk('done\n'), 'call-1'), ['stored'], 'the resend gets the first answer');
  t.strictSame(await logsOf(planId), [chunk('done\n')], 'the chunk is in the log once');
  t.equal(await redis.hget(queue.toKey(planId), 'outputBytes'), '5', 'and counted once against the cap');
});

t.test('the same text in a new call is a new chunk', async (t) => {
  // A progress bar writes the same dot many times: equal chunks are not repeats.
  const planId = await newJob();
  t.strictSame(await call(planId, 100, chunk('.'), 'call-1'), ['stored']);
  t.strictSame(await call(planId, 100, chunk('.'), 'call-2'), ['stored']);
  t.strictSame(await logsOf(planId), [chunk('.'), chunk('.')]);
  t.strictSame(await appendCappedOutput(redis, queue, planId, chunk('.'), 100), [chunk('.')], 'each call of the store has an id of its own');
  t.strictSame(await appendCappedOutput(redis, queue, planId, chunk('.'), 100), [chunk('.')]);
  t.equal((await logsOf(planId)).length, 4);
});

t.test('a resent call that was cut gets the same cut, and the notice stays single', async (t) => {
  const planId = await newJob();
  t.strictSame(await call(planId, 6, chunk('héllo wörld'), 'call-1'), ['cut', 6]);
  t.strictSame(await call(planId, 6, chunk('héllo wörld'), 'call-1'), ['cut', 6], 'the resend is told what was kept the first time');
  t.strictSame(await logsOf(planId), [chunk('héllo'), truncationNotice(6, chunk('').timestamp)], 'the kept part and one notice');
  t.strictSame(await call(planId, 6, chunk('more'), 'call-2'), ['dropped'], 'a later call is dropped past the cap');
  t.strictSame(await call(planId, 6, chunk('more'), 'call-2'), ['dropped'], 'and so is its resend');
  t.equal((await logsOf(planId)).length, 2);
  t.notMatch(await redis.hget(queue.toKey(planId), 'outputRecentCalls'), /call-2/, 'a dropped call is not remembered: it wrote nothing');
});

t.test("proxyhub's own notices: past the cap, uncounted, and once after a resend", async (t) => {
  const planId = await newJob();
  const notice: OutputChunk = { output_type: 'debug', output: 'The job was cancelled, stopping the script', timestamp: 1_780_000_001 };
  t.strictSame(await call(planId, 4, chunk('abcdef'), 'call-1'), ['cut', 4], 'the counted output fills the cap');
  t.strictSame(await call(planId, 4, notice, 'call-2', 'notice'), ['stored'], 'a notice is stored past it');
  t.strictSame(await call(planId, 4, notice, 'call-2', 'notice'), ['stored'], 'its resend is answered the same');
  t.strictSame(await logsOf(planId), [chunk('abcd'), truncationNotice(4, chunk('').timestamp), notice], 'and the notice is in the log once');
  t.equal(await redis.hget(queue.toKey(planId), 'outputBytes'), '4', 'without counting against the cap');
  t.strictSame(await appendCappedOutput(redis, queue, 'no-such-plan', notice, 4, 'notice'), [], 'no job, no notice');
});

t.test('two writers through one failover: both resends are recognised', async (t) => {
  // In pull mode the host's updates and the worker's notices are written from two processes.
  const planId = await newJob();
  const notice: OutputChunk = { output_type: 'debug', output: 'Timeout for execution passed', timestamp: 1_780_000_002 };
  await call(planId, 100, chunk('a'), 'host-1');
  await call(planId, 100, notice, 'worker-1', 'notice');
  t.strictSame(await call(planId, 100, chunk('a'), 'host-1'), ['stored'], "the host's resend");
  t.strictSame(await call(planId, 100, notice, 'worker-1', 'notice'), ['stored'], "the worker's resend");
  t.strictSame(await logsOf(planId), [chunk('a'), notice], 'each chunk once');
});

t.test('the last 8 calls are remembered; an older id is applied again', async (t) => {
  // Documents the bound: a resend comes right after the reconnect, never nine calls later.
  const planId = await newJob();
  for (let i = 1; i <= 9; i += 1) await call(planId, 100, chunk(String(i)), `call-${i}`);
  await call(planId, 100, chunk('2'), 'call-2');
  t.strictSame((await logsOf(planId)).map((c) => c.output), ['1', '2', '3', '4', '5', '6', '7', '8', '9'], 'call-2 is still remembered');
  await call(planId, 100, chunk('1'), 'call-1');
  t.equal((await logsOf(planId)).map((c) => c.output).at(-1), '1', 'call-1 is not: applied again');
});

t.test('no job, no write: not even the call id', async (t) => {
  const key = queue.toKey('no-such-plan');
  t.strictSame(await call('no-such-plan', 100, chunk('x'), 'call-1'), ['gone']);
  t.equal(await redis.exists(key, `${key}:logs`), 0);
});
