/**
 * The rhsm worker's newest-upload markers (workers/rhsm/newest-upload.ts) on the real Redis, with
 * the rhsm role's own ACL user (contracts/broker-accounts.ts): a newer stamp replaces an older
 * one, an older never replaces a newer, the marker expires, and the user reaches nothing else.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import t from 'tap';
import { accountName, redisAclRules } from '../../contracts/broker-accounts.ts';
import { createTopology } from '../../contracts/topology.ts';
import { roleUrl } from '../../cli/broker-setup.ts';
import { createNewestUploads, uploadStamp } from '../../workers/rhsm/newest-upload.ts';
import { REDIS_URL, deleteRedisKeys, testPrefix } from '../helpers/hub-harness.ts';

const prefix = testPrefix();
const topology = createTopology(prefix);
const admin = new Redis(REDIS_URL);
const user = accountName(topology, 'rhsm');
const password = randomBytes(18).toString('base64url');
await admin.call('ACL', 'SETUSER', user, 'reset', 'on', `>${password}`, ...(redisAclRules(topology, 'rhsm') ?? []));
const redis = new Redis(roleUrl(REDIS_URL, user, password), { maxRetriesPerRequest: 1 });
t.teardown(async () => {
  redis.disconnect();
  await admin.call('ACL', 'DELUSER', user);
  await deleteRedisKeys(prefix);
  admin.disconnect();
});

t.test('the newest stamp wins whatever order the offers come in', async (t) => {
  const newest = createNewestUploads(redis, 60);
  const key = topology.rhsmNewestKey('AAAA-1', 'profiles');
  t.equal(key, `${prefix}:rhsm:newest:aaaa-1:profiles`, 'one key per consumer (case-folded) and slot');
  const first = uploadStamp('2026-12-05T01:00:00.000Z', 'a');
  const second = uploadStamp('2026-12-05T01:00:00.500Z', 'b');
  const third = uploadStamp('2026-12-05T01:00:01.000Z', 'c');
  t.equal(await newest.offer(key, second), second, 'no marker yet: taken');
  t.equal(await newest.offer(key, first), second, 'an older upload sees the newer one');
  t.equal(await newest.offer(key, third), third, 'a newer one replaces it');
  t.equal(await newest.offer(key, third), third, 'offered again (a redelivery): still itself');
  t.equal(await newest.newest(key), third);
  t.ok((await admin.ttl(key)) > 0, 'the marker expires');
  t.equal(await newest.newest(topology.rhsmNewestKey('other', 'profiles')), undefined);
  t.ok(uploadStamp('2026-12-05T01:00:09.000Z', 'a') < uploadStamp('2026-12-05T01:00:10.000Z', 'a'), 'stamps sort by time');
});

t.test("the rhsm user reaches its markers and dedup records, nothing else", async (t) => {
  await redis.set(topology.deliveredKey('rhsm', 'e1'), '1', 'EX', 60);
  t.equal(await redis.exists(topology.deliveredKey('rhsm', 'e1')), 1);
  await t.rejects(redis.get(`${prefix}:bull:rex-jobs:1`), /NOPERM/);
  await t.rejects(redis.eval("return redis.call('GET', KEYS[1])", 1, `${prefix}:container-gateway:hosts`), /NOPERM|No permissions/);
});
