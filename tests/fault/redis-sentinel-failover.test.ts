/**
 * The Redis primary of a Sentinel group killed (SIGKILL) while REX jobs run over SSH and facts
 * uploads go through a worker: the Sentinels promote the replica, every hub connection finds the
 * new primary through them, and nothing is lost or done twice: every REX script runs once on the
 * host with one callback at Foreman, and every upload answered 202 reaches Foreman exactly once.
 *
 * Each role logs in with its own ACL user, set up as `proxyhub broker setup` does (through the
 * Sentinels, on every data node: Redis does not replicate ACL users), so the promoted replica
 * must know them too.
 *
 * The group (tests/helpers/own-sentinel.ts) is the test's own, on loopback ports of its own; the
 * machine's Redis and RabbitMQ are only used, never restarted. The hub is given an unresolvable
 * host in PROXYHUB_REDIS_URL: it can only have found Redis through the Sentinels.
 * Runs alone (@runs-alone): SSH handshakes and five Redis processes want the machine's cores.
 */
import { Redis } from 'ioredis';
import t from 'tap';
import type { AccountRole } from '../../contracts/broker-accounts.ts';
import { createTopology } from '../../contracts/topology.ts';
import { planAccounts, roleUrl } from '../../cli/broker-setup.ts';
import { setRedisAclUsers } from '../../hub/jobs/redis.ts';
import { testConfig } from '../helpers/hub-harness.ts';
import { startForemanFor } from '../helpers/hub-with-foreman.ts';
import { startOwnSentinel } from '../helpers/own-sentinel.ts';
import { createRexSshLoad } from '../helpers/rex-ssh-load.ts';
import { authorizeProxyKey, controlUrlOf } from '../helpers/rex.ts';
import { startSshd } from '../helpers/sshd.ts';
import { spawnHubFor, startHubFor, usePrefix } from '../helpers/test-hub.ts';
import { uploadStreams } from '../helpers/upload-streams.ts';
import { holdsFor, waitFor } from '../helpers/wait-for.ts';

const JOBS = 100;
/** Scripts started before the primary is killed: some finished, many running, the rest waiting. */
const STARTED_AT_CRASH = 30;
const FACTS = '/api/v2/hosts/facts';

t.setTimeout(420_000);
const group = await startOwnSentinel();
t.teardown(() => group.stop());
const foreman = await startForemanFor(t);
const sshd = await startSshd();
t.teardown(() => sshd.stop());
const prefix = usePrefix(t);
// Never resolved: with Sentinel the URL only carries the data nodes' credentials and TLS.
const REDIS_URL = 'redis://found-through-sentinel.invalid:6379';
const redisSentinel = { sentinels: group.sentinelUrls.join(','), name: group.name };
const accounts = planAccounts(createTopology(prefix), { roles: ['control', 'rex', 'facts'], passwords: {}, vhost: '/' });
await setRedisAclUsers({ url: REDIS_URL, sentinel: { sentinels: group.sentinelUrls, name: group.name } }, accounts.flatMap((account) => (account.redisAcl ? [account.redisAcl] : [])));
const configOf = (role: AccountRole) => {
  const account = accounts.find((candidate) => candidate.role === role);
  const redisUrl = account === undefined ? REDIS_URL : roleUrl(REDIS_URL, account.user, account.password);
  return testConfig(prefix, foreman.url, { redisUrl, redisSentinel, rex: { callbackBackoffMaxMs: 1000, connectTimeoutMs: 30_000 } });
};
// Each role its own process as an operator runs them; the ingress (uploads, and the public key
// the hosts authorize) reaches no Redis and runs in the test.
const ingress = await startHubFor(t, configOf('ingress'), 'ingress');
const control = await spawnHubFor(t, configOf('control'), 'control');
const rexWorker = await spawnHubFor(t, configOf('rex'), 'worker:rex');
const factsWorker = await spawnHubFor(t, configOf('facts'), 'worker:facts');
const controlUrl = controlUrlOf(control);
await authorizeProxyKey(sshd, ingress);
const load = createRexSshLoad({ sshd, foreman, controlUrl, jobs: JOBS, scriptSeconds: 2 });
const processes = [
  ['control', control],
  ['rex worker', rexWorker],
  ['facts worker', factsWorker],
] as const;

interface LogLine {
  readonly msg: string;
  readonly connection?: string;
  readonly master?: string;
  readonly time: number;
}

/**
 * Each Redis connection of a process that logged `redis unavailable` since `from`, with its
 * `redis reconnected` line (undefined until it logged one).
 */
function outageOf(output: string[], from: number): Map<string, LogLine | undefined> {
  const lines = output
    .join('')
    .split('\n')
    .filter((line) => line.startsWith('{') && line.includes('"redis '))
    .map((line) => JSON.parse(line) as LogLine)
    .filter((line) => line.time >= from && line.connection !== undefined);
  const connections = new Map<string, LogLine | undefined>();
  for (const line of lines) {
    const name = line.connection as string;
    if (line.msg === 'redis unavailable; retrying') connections.set(name, undefined);
    else if (line.msg === 'redis reconnected' && connections.has(name)) connections.set(name, line);
  }
  return connections;
}

t.test(`the Redis primary killed while ${JOBS} REX jobs run and facts are uploaded: Sentinel fails over, nothing lost or done twice`, async (t) => {
  const oldPrimary = await group.master();
  const uploads = uploadStreams(ingress.ingressUrl ?? '', { clients: 2, namePrefix: 'sentinel', timeoutMs: 30_000, pauseMs: () => 20 });
  await load.launch(t);
  await waitFor(() => load.started().length >= STARTED_AT_CRASH, { timeoutMs: 60_000, what: `${STARTED_AT_CRASH} scripts to start` });
  const deliveredBefore = foreman.delivered(FACTS).length;
  t.ok(deliveredBefore > 0, 'uploads reached Foreman before the kill');

  const killedAt = Date.now();
  await oldPrimary.crash();
  t.comment(`primary :${oldPrimary.port} killed with ${load.started().length} scripts started, ${foreman.callbacks.length} callbacks and ${deliveredBefore} uploads at Foreman`);
  const newPrimary = await waitFor(async () => {
    const master = await group.master().catch(() => undefined);
    return master !== oldPrimary ? master : undefined;
  }, { timeoutMs: 60_000, intervalMs: 50, what: 'the Sentinels to promote the replica' });
  t.comment(`replica :${newPrimary.port} promoted ${Date.now() - killedAt} ms after the kill`);

  // Every connection that noticed the loss logs its way back, naming the master it found.
  let factsBackAt = 0;
  for (const [name, child] of processes) {
    const outage = await waitFor(() => {
      const connections = outageOf(child.output, killedAt);
      return connections.size > 0 && [...connections.values()].every((line) => line !== undefined) ? connections : undefined;
    }, { timeoutMs: 60_000, intervalMs: 100, what: `every Redis connection of the ${name} to be back` });
    const back = [...outage].map(([connection, line]) => ({ connection, master: line?.master, ms: (line?.time ?? 0) - killedAt }));
    t.same([...new Set(back.map((line) => line.master))], [`127.0.0.1:${newPrimary.port}`], `every connection of the ${name} that lost Redis reconnected to the new primary`);
    t.comment(`${name}: ${back.map((line) => `${line.connection} +${line.ms} ms`).join(', ')}`);
    if (child === factsWorker) factsBackAt = killedAt + Math.max(...back.map((line) => line.ms));
  }
  const deliveredAtReconnect = foreman.delivered(FACTS).length;
  await waitFor(() => foreman.delivered(FACTS).length >= deliveredAtReconnect + 50, { timeoutMs: 60_000, intervalMs: 100, what: 'uploads delivered after the failover' });
  await uploads.stop();

  t.comment(`the last callback ${await load.everyCallback(300_000)} ms after the uploads stopped`);
  await load.assertEachRanOnce(t);
  // A chunk whose write failed is logged and skipped (job-lifecycle.ts): none may be.
  t.same(rexWorker.output.join('').split('\n').filter((line) => line.includes('"output chunk not stored"')), [], 'no output chunk failed to be stored');

  const accepted = uploads.outcomes.filter((o) => o.status === 202).map((o) => o.name);
  t.equal(accepted.length, uploads.outcomes.length, 'every upload answered 202 (the ingress reaches no Redis)');
  const counts = (): Map<string, number> => foreman.delivered(FACTS).reduce((map, r) => map.set((r.body as { name: string }).name, (map.get((r.body as { name: string }).name) ?? 0) + 1), new Map<string, number>());
  await waitFor(() => accepted.every((name) => counts().has(name)), { timeoutMs: 60_000, intervalMs: 250, what: 'every accepted upload at Foreman' });
  t.ok(await holdsFor(() => accepted.every((name) => counts().get(name) === 1), 3000, 250), `all ${accepted.length} accepted uploads reached Foreman exactly once`);

  // The facts worker's dedup records are on the new primary: those written well before the kill
  // came over by replication, those after its reconnect were written there. An upload delivered
  // while its worker had no Redis has none (its record write failed and was logged: at-least-once).
  const outageWindow = (at: number): boolean => at >= killedAt - 1000 && at <= factsBackAt + 1000;
  const deliveredInOutage = foreman.delivered(FACTS).filter((r) => outageWindow(r.at)).length;
  const redis = new Redis(newPrimary.port, '127.0.0.1');
  try {
    let records = 0;
    const pattern = createTopology(prefix).deliveredKey('facts', '*');
    for await (const keys of redis.scanStream({ match: pattern, count: 1000 })) records += (keys as string[]).length;
    t.comment(`${records} delivered-event records on the new primary for ${accepted.length} uploads (${deliveredInOutage} delivered within a second of the outage)`);
    t.ok(records >= accepted.length - deliveredInOutage, 'every upload delivered outside the outage has its record on the new primary');
    t.ok(records <= accepted.length, 'and no record for anything not uploaded');
  } finally {
    redis.disconnect();
  }

  for (const [name, child] of processes) {
    const lines = child.output.join('').split('\n').filter(Boolean);
    // BullMQ prints an emitter's unheard errors to stderr: every line must be the structured log.
    t.same(lines.filter((line) => !line.startsWith('{')), [], `the ${name} wrote nothing around its structured log`);
  }
});
