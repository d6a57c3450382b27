/**
 * The per-role permissions are derived from the topology and say what issue 11 asks: the ingress
 * publishes only upload events and RPC requests, reads nothing, and no role may configure.
 */
import t from 'tap';
import { accountRoles, brokerPermissions, redisAclRules, type AccountRole } from '../../contracts/broker-accounts.ts';
import { createTopology, queueFeatures, rpcQueueNames } from '../../contracts/topology.ts';
import { parsePasswords, parseRoleList, planAccounts, printedLines } from '../../cli/broker-setup.ts';

const topology = createTopology('px-1');
const matches = (pattern: string, name: string): boolean => new RegExp(pattern).test(name);
const allQueues = [
  ...queueFeatures.flatMap((f) => [topology.workQueue(f), topology.deadLetterQueue(f), topology.retryQueue(f, 1000)]),
  ...rpcQueueNames.map((f) => topology.rpcQueue(f)),
  topology.capabilitiesStream,
];

t.test('the ingress writes the events and RPC exchanges only, and reads nothing', async (t) => {
  const p = brokerPermissions(topology, 'ingress');
  for (const name of [topology.eventsExchange, topology.rpcExchange, topology.capabilitiesExchange]) t.ok(matches(p.write, name), `writes ${name}`);
  for (const name of ['amq.default', topology.deadLetterExchange, topology.outcomesExchange, ...queueFeatures.map((f) => topology.retryExchange(f)), ...allQueues]) t.notOk(matches(p.write, name), `does not write ${name}`);
  for (const name of allQueues) t.notOk(matches(p.read, name), `does not read ${name}`);
  t.ok(matches(p.topics[topology.eventsExchange] as string, 'facts.uploaded.v1'));
  t.notOk(matches(p.topics[topology.eventsExchange] as string, 'rex.job.finished.v1'), 'publishes no REX events');
  t.notOk(matches(p.topics[topology.capabilitiesExchange] as string, 'capability.changed.v1'), 'cannot speak for the control role');
});

t.test('a work-queue worker reads its own queue only; nobody configures; nobody but RPC answerers and control writes the default exchange', async (t) => {
  for (const feature of queueFeatures) {
    const p = brokerPermissions(topology, feature);
    t.same(allQueues.filter((q) => matches(p.read, q)), [topology.workQueue(feature), ...(feature === 'openscap' || feature === 'rhsm' ? [topology.rpcQueue(feature)] : [])], `${feature} reads`);
    t.ok(matches(p.write, topology.retryExchange(feature)));
    t.same(queueFeatures.filter((f) => f !== feature && matches(p.write, topology.retryExchange(f))), [], `${feature} writes no other feature's retry exchange`);
  }
  for (const role of accountRoles) {
    t.equal(brokerPermissions(topology, role).configure, '^$', `${role} configures nothing`);
    t.equal(matches(brokerPermissions(topology, role).write, 'amq.default'), ['control', 'openscap', 'rhsm', 'registration', 'rex', 'container_gateway', 'all'].includes(role), `${role} and amq.default`);
  }
});

t.test('the co-located process may do what any role may', async (t) => {
  const all = brokerPermissions(topology, 'all');
  const names = [...allQueues, 'amq.default', topology.eventsExchange, topology.rpcExchange, topology.outcomesExchange, topology.deadLetterExchange, topology.capabilitiesExchange];
  for (const role of accountRoles) {
    const p = brokerPermissions(topology, role);
    for (const name of names) {
      if (matches(p.write, name)) t.ok(matches(all.write, name), `all writes ${name} (${role} does)`);
      if (matches(p.read, name)) t.ok(matches(all.read, name), `all reads ${name} (${role} does)`);
    }
  }
  t.notOk(matches(all.write, 'px-10.events'), 'another prefix is out of reach');
});

t.test('Redis: no account for the ingress; dedup workers reach dedup keys only', async (t) => {
  t.equal(redisAclRules(topology, 'ingress'), undefined);
  t.equal(redisAclRules(topology, 'registration'), undefined);
  const keys = (role: AccountRole) => (redisAclRules(topology, role) ?? []).filter((rule) => rule.startsWith('~'));
  t.same(keys('facts'), ['~px-1:delivered:*']);
  t.same(keys('rex'), ['~px-1:bull:*', '~px-1:rex:*']);
  t.same(keys('control'), ['~px-1:bull:*', '~px-1:rex:*', '~px-1:container-gateway:*']);
  t.same(keys('container_gateway'), ['~px-1:container-gateway:*']);
  t.same(keys('rhsm'), ['~px-1:delivered:*', '~px-1:rhsm:*'], 'dedup records and the newest-upload markers');
  for (const role of accountRoles) t.ok((redisAclRules(topology, role) ?? ['-@dangerous']).includes('-@dangerous'), `${role}: no FLUSHALL and friends`);
});

t.test('setup plans one account per role, with generated passwords unless given', async (t) => {
  const accounts = planAccounts(topology, { roles: parseRoleList('ingress,worker:facts'), passwords: parsePasswords(['facts=given']), vhost: '/' });
  t.same(accounts.map((a) => [a.role, a.user]), [['ingress', 'px-1-ingress'], ['facts', 'px-1-facts']]);
  t.equal(accounts[1]?.password, 'given');
  t.ok((accounts[0]?.password.length ?? 0) >= 24, 'a long random password');
  t.not(planAccounts(topology, { roles: ['ingress'], passwords: {}, vhost: '/' })[0]?.password, accounts[0]?.password);
  const text = printedLines(accounts, 'px-1');
  t.match(text, /rabbitmqctl set_permissions -p \/ px-1-ingress '\^\$' /);
  t.match(text, /rabbitmqctl set_topic_permissions -p \/ px-1-ingress px-1\.events /);
  t.match(text, /redis-cli ACL SETUSER px-1-facts reset on '>given' resetkeys/);
  t.notMatch(text, /ACL SETUSER px-1-ingress/, 'no Redis user for the ingress');
  t.throws(() => parseRoleList('worker:nope'), /unknown role/);
});
