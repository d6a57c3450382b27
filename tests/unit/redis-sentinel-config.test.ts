/**
 * Redis through Sentinel, as configured: the two variables are parsed into the target every
 * Redis connection is made from, half a set-up or a list ioredis could not apply is refused with
 * the variable named, and what is shown (plan, logs) never carries a password.
 */
import t from 'tap';
import { isProxyhubError } from '../../contracts/errors.ts';
import { loadConfig } from '../../hub/config/load.ts';
import { parseRoles } from '../../hub/config/roles.ts';
import { configToEnvironment } from '../../hub/config/settings.ts';
import { describeRedis, redisTargetOf, sentinelOptions } from '../../hub/jobs/redis-target.ts';
import { describePlan } from '../../cli/plan.ts';

const makeEnv = (overrides: Record<string, string> = {}): NodeJS.ProcessEnv => ({ PROXYHUB_FOREMAN_URL: 'https://foreman.example.com', ...overrides });
const sentinelEnv = (sentinels: string, name = 'proxyhub'): NodeJS.ProcessEnv => makeEnv({ PROXYHUB_REDIS_SENTINELS: sentinels, PROXYHUB_REDIS_SENTINEL_NAME: name });

function problemOf(env: NodeJS.ProcessEnv): string {
  try {
    loadConfig(env);
  } catch (error) {
    if (isProxyhubError(error) && error.code === 'PROXYHUB_CONFIG_INVALID') return error.message;
    throw error;
  }
  return '';
}

t.test('without the Sentinel variables Redis is the one server of PROXYHUB_REDIS_URL', async (t) => {
  const config = loadConfig(makeEnv({ PROXYHUB_REDIS_URL: 'redis://rex:secret@redis.example.com:6380/1' }));
  t.same(redisTargetOf(config), { url: 'redis://rex:secret@redis.example.com:6380/1' });
  t.equal(describeRedis(redisTargetOf(config)), 'redis://rex:***@redis.example.com:6380/1');
});

t.test('the Sentinels as host:port or URLs, with the master group name', async (t) => {
  const config = loadConfig(sentinelEnv(' s1.example.com:26380, redis://s2.example.com ,,s3.example.com', 'proxyhub-redis'));
  t.same(config.redisSentinel, { sentinels: ['redis://s1.example.com:26380', 'redis://s2.example.com:26379', 'redis://s3.example.com:26379'], name: 'proxyhub-redis' }, 'blanks dropped, the Sentinel port where none is given');
  const target = redisTargetOf(config);
  t.same(target.sentinel, config.redisSentinel);
  const options = sentinelOptions(target.sentinel ?? { sentinels: [], name: '' }, target.url, () => 100);
  t.same(options.sentinels, [
    { host: 's1.example.com', port: 26380 },
    { host: 's2.example.com', port: 26379 },
    { host: 's3.example.com', port: 26379 },
  ]);
  t.equal(options.name, 'proxyhub-redis');
  t.equal(options.sentinelPassword, undefined, 'no Sentinel password unless given');
  t.equal(options.enableTLSForSentinelMode, false, 'plain TCP to the data nodes with a redis:// URL');
  t.equal(options.reconnectOnError?.(new Error("READONLY You can't write against a read only replica.")), 2, 'a write refused by a demoted master is sent again after a reconnect');
  t.equal(options.reconnectOnError?.(new Error('ERR wrong number of arguments')), false, 'other errors are the command’s own');
  t.same(loadConfig(configToEnvironment(config)).redisSentinel, config.redisSentinel, 'the variables that reproduce the configuration round-trip');
});

t.test('Sentinel credentials and TLS in the URLs; the data nodes’ in PROXYHUB_REDIS_URL', async (t) => {
  const config = loadConfig({ ...sentinelEnv('rediss://watch:s%40cret@s1:26379,rediss://watch:s%40cret@s2:26379'), PROXYHUB_REDIS_URL: 'rediss://rex:data-secret@unused:6379/2' });
  const target = redisTargetOf(config);
  const options = sentinelOptions(target.sentinel ?? { sentinels: [], name: '' }, target.url, () => 100);
  t.equal(options.sentinelUsername, 'watch');
  t.equal(options.sentinelPassword, 's@cret', 'percent-encoded characters decoded');
  t.same(options.sentinelTLS, {}, 'TLS to the Sentinels with rediss://');
  t.equal(options.enableTLSForSentinelMode, true, 'TLS to the data nodes with a rediss:// Redis URL');
  const shown = describeRedis(target);
  t.equal(shown, 'master "proxyhub" of Sentinels rediss://watch:***@s1:26379,rediss://watch:***@s2:26379 (data nodes as rediss://rex:***@unused:6379/2)');

  const plan = await describePlan(config, parseRoles('control,worker:rex'));
  t.match(plan, /Redis master "proxyhub" of Sentinels rediss:\/\/watch:\*\*\*@s1:26379/, '`config check` shows the Sentinels');
  t.notMatch(plan, /s%40cret|data-secret/, 'without a password');
});

t.test('half a Sentinel set-up, or a list ioredis could not apply, is refused with its variable', async (t) => {
  t.match(problemOf(makeEnv({ PROXYHUB_REDIS_SENTINELS: 's1:26379' })), /redisSentinel\.name \(PROXYHUB_REDIS_SENTINEL_NAME\): required with PROXYHUB_REDIS_SENTINELS/);
  t.match(problemOf(makeEnv({ PROXYHUB_REDIS_SENTINEL_NAME: 'proxyhub' })), /redisSentinel\.sentinels \(PROXYHUB_REDIS_SENTINELS\): required with PROXYHUB_REDIS_SENTINEL_NAME/);
  t.match(problemOf(sentinelEnv('s1:26379', 'two words')), /PROXYHUB_REDIS_SENTINEL_NAME\): must be a Sentinel master group name/);
  const badItem = problemOf(sentinelEnv('s1:26379,http://u:secret@s2:26379,s3:26379/0'));
  t.match(badItem, /item 2 \(http:\/\/\*\*\*@s2:26379\) must be host:port or a redis:\/\/ or rediss:\/\/ URL/, 'a bad item is named');
  t.match(badItem, /item 3 \(s3:26379\/0\)/, 'a path (a database) is no Sentinel address');
  t.notMatch(badItem, /secret/, 'without its password');
  t.match(problemOf(sentinelEnv('redis://:a@s1,redis://:b@s2')), /same scheme .* and the same user and password/, 'one password for every Sentinel (ioredis has one)');
  t.match(problemOf(sentinelEnv('redis://s1,rediss://s2')), /same scheme/, 'TLS to all Sentinels or none');
  t.match(problemOf(sentinelEnv(' , ')), /at least one Sentinel/);
});
