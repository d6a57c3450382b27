/**
 * Per-role broker accounts made by `proxyhub broker setup` (random names under a random prefix,
 * deleted afterwards): the ingress and a facts worker run with their own accounts and an upload
 * still reaches Foreman, while the ingress's account is refused what issue 11 says it must not do.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import amqplib from 'amqplib';
import { Redis } from 'ioredis';
import t from 'tap';
import { createTopology } from '../../contracts/topology.ts';
import { applyAccounts, envName, planAccounts } from '../../cli/broker-setup.ts';
import { childEnvironment, deleteTopology, fixedTestPort, REDIS_URL, REPO_ROOT, spawnHub, startTestHub, testConfig, testPrefix } from '../helpers/hub-harness.ts';
import { TestForeman } from '../helpers/test-foreman.ts';
import { waitFor } from '../helpers/wait-for.ts';

const run = promisify(execFile);
const prefix = testPrefix();
const topology = createTopology(prefix);
const foreman = new TestForeman();
await foreman.start();
const INGRESS_PORT = fixedTestPort();
// The operator's account (the test broker's guest) runs the setup; the roles never see it.
const setupConfig = testConfig(prefix, foreman.url, { transport: 'amqp091' });
const accounts = planAccounts(topology, { roles: ['ingress', 'facts'], passwords: {}, vhost: '/' });
const dir = mkdtempSync(join(tmpdir(), 'proxyhub-accounts-'));
const out = join(dir, 'accounts.env');
await applyAccounts(setupConfig, accounts, { vhost: '/', rabbitmqctlPath: 'rabbitmqctl', out });
const urls = Object.fromEntries(readFileSync(out, 'utf8').split('\n').filter((line) => line.includes('=')).map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
const ingressUrl = urls[`${envName('ingress')}_AMQP_URL`] as string;
const factsUrl = urls[`${envName('facts')}_AMQP_URL`] as string;
const factsRedisUrl = urls[`${envName('facts')}_REDIS_URL`] as string;

const ingress = await spawnHub(testConfig(prefix, 'http://127.0.0.1:9', { transport: 'amqp091', amqpUrl: ingressUrl, redisUrl: 'redis://127.0.0.1:9', ingress: { host: '127.0.0.1', port: INGRESS_PORT } }), 'ingress', { PROXYHUB_FOREMAN_URL: '' });
const worker = await startTestHub(testConfig(prefix, foreman.url, { transport: 'amqp091', amqpUrl: factsUrl, redisUrl: factsRedisUrl }), 'worker:facts');
t.teardown(async () => {
  await ingress.stop();
  await worker.close();
  await foreman.stop();
  for (const account of accounts) await run('rabbitmqctl', ['delete_user', account.user]);
  const admin = new Redis(REDIS_URL);
  for (const account of accounts) if (account.redisAcl) await admin.call('ACL', 'DELUSER', account.user);
  admin.disconnect();
  await deleteTopology(prefix);
  rmSync(dir, { recursive: true, force: true });
});

t.test('setup writes the role URLs readable by its owner only', async (t) => {
  t.equal(statSync(out).mode & 0o777, 0o600);
  t.match(ingressUrl, new RegExp(`^amqp://${prefix}-ingress:[^@]+@127\\.0\\.0\\.1:5672`));
  t.notOk(`${envName('ingress')}_REDIS_URL` in urls, 'the ingress gets no Redis account');
});

t.test('an upload answered 202 by the ingress reaches Foreman through the facts worker', async (t) => {
  const response = await fetch(`http://127.0.0.1:${INGRESS_PORT}/api/v2/hosts/facts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: `acct-${prefix}.example.com`, facts: { a: '1' } }) });
  t.equal(response.status, 202);
  const delivered = await waitFor(() => foreman.delivered('/api/v2/hosts/facts').length === 1 && foreman.delivered('/api/v2/hosts/facts'));
  t.match(delivered[0]?.body, { name: `acct-${prefix}.example.com` });
});

/** Runs one operation on a fresh channel of the ingress's account and returns how it ended. */
async function asIngress(operation: (channel: amqplib.ConfirmChannel) => Promise<unknown>): Promise<string> {
  const connection = await amqplib.connect(ingressUrl);
  connection.on('error', () => undefined);
  try {
    const channel = await connection.createConfirmChannel();
    const closed = new Promise<string>((resolve) => channel.on('error', (error: Error) => resolve(error.message)));
    return await Promise.race([operation(channel).then(() => 'ok', (error: Error) => error.message), closed]);
  } finally {
    await connection.close().catch(() => undefined);
  }
}

const publish = (exchange: string, routingKey: string) => (channel: amqplib.ConfirmChannel) =>
  new Promise<void>((resolve, reject) => channel.publish(exchange, routingKey, Buffer.from('{}'), { persistent: true }, (error: Error | null | undefined) => (error ? reject(error) : resolve())));

t.test('the ingress account is refused everything beyond publishing uploads and RPC requests', async (t) => {
  t.match(await asIngress(publish('', topology.workQueue('facts'))), /ACCESS_REFUSED/, 'publish straight into a worker queue');
  t.match(await asIngress(publish('', topology.workQueue('reports'))), /ACCESS_REFUSED/, 'into another worker queue');
  t.match(await asIngress(publish(topology.deadLetterExchange, topology.workQueue('facts'))), /ACCESS_REFUSED/, 'into a dead-letter queue');
  t.match(await asIngress(publish(topology.retryExchange('facts'), topology.retryQueue('facts', 200))), /ACCESS_REFUSED/, 'into a retry tier');
  t.match(await asIngress(publish(topology.eventsExchange, 'rex.job.finished.v1')), /ACCESS_REFUSED/, 'an event type it does not produce');
  t.match(await asIngress((channel) => channel.get(topology.deadLetterQueue('facts'))), /ACCESS_REFUSED/, 'read a dead-letter queue');
  t.match(await asIngress((channel) => channel.consume(topology.deadLetterQueue('facts'), () => undefined)), /ACCESS_REFUSED/, 'consume a dead-letter queue');
  t.match(await asIngress((channel) => channel.consume(topology.workQueue('facts'), () => undefined)), /ACCESS_REFUSED/, 'consume a work queue');
  t.match(await asIngress((channel) => channel.deleteQueue(topology.workQueue('facts'))), /ACCESS_REFUSED/, 'delete a queue');
  t.match(await asIngress((channel) => channel.assertQueue(`${prefix}.facts.extra`)), /ACCESS_REFUSED/, 'declare a queue');
  t.equal(await asIngress(publish(topology.eventsExchange, 'facts.uploaded.v1')), 'ok', 'while an upload event is accepted');
});

t.test('a role whose account may not declare names what is missing, and keeps trying', async (t) => {
  const other = testPrefix();
  const config = testConfig(other, 'http://127.0.0.1:9', { transport: 'amqp091', amqpUrl: ingressUrl, ingress: { host: '127.0.0.1', port: 0 } });
  const child = spawn(process.execPath, ['bin/proxyhub.mjs', 'start', '--role', 'ingress'], { cwd: REPO_ROOT, env: childEnvironment(config, { PROXYHUB_FOREMAN_URL: '', PROXYHUB_LOG_LEVEL: 'info' }), stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  child.stdout.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  t.teardown(async () => {
    // Still starting (it waits for the topology): nothing to close gracefully yet.
    child.kill('SIGKILL');
    await exited;
  });
  const said = await waitFor(() => output.join('').match(/the broker lacks [^"]*/)?.[0], { what: 'the missing topology named' });
  t.match(said, `exchange ${other}.events`);
  t.match(said, `queue ${other}.facts`);
  t.match(said, 'proxyhub broker setup');
  t.equal(child.exitCode, null, 'it keeps trying: the setup may come after it');
});
