/**
 * REX pull-mqtt end to end over TLS with a real Mosquitto: the rex worker notifies the host on
 * `yggdrasil/<host>/data/in`, the host (played here as foreman_ygg_worker does it) fetches the
 * script from the ingress with its certificate and posts v1 or legacy updates, and Foreman gets
 * the callback. Another host's certificate sees nothing but 404s; an unpicked job is notified
 * again; a cancel before pickup ends the job.
 */
import mqtt from 'mqtt';
import t from 'tap';
import { pullNotificationSchema, pullTopic, type PullNotification } from '../../contracts/rex/mqtt.ts';
import { testConfig } from '../helpers/hub-harness.ts';
import { startForemanFor } from '../helpers/hub-with-foreman.ts';
import { startHubFor, usePrefix } from '../helpers/test-hub.ts';
import { createTestPki } from '../helpers/pki.ts';
import { callbackFor, hostJob, launchBody, stdoutOf, type HostJob } from '../helpers/rex.ts';
import { tlsClient } from '../helpers/tls-client.ts';
import { waitFor } from '../helpers/wait-for.ts';

const OUTPUT_CAP = 4096;
const MQTT_URL = process.env.PROXYHUB_MQTT_URL ?? 'mqtt://127.0.0.1:1883';
const prefix = usePrefix(t);
const HOST = `pull-${prefix}.example.com`;
const pki = createTestPki();
t.teardown(() => pki.remove());
const host = tlsClient(pki, pki.client(HOST));
const intruder = tlsClient(pki, pki.client(`other-${prefix}.example.com`));
const foremanClient = tlsClient(pki, pki.client('foreman.example.com'));
t.teardown(() => Promise.all([host.close(), intruder.close(), foremanClient.close()]));
const foreman = await startForemanFor(t);
const config = testConfig(prefix, foreman.url, {
  tls: { cert: pki.server.cert, key: pki.server.key, ca: pki.caCert },
  trustedHosts: ['foreman.example.com'],
  rex: { mode: 'pull-mqtt', mqttTtlSeconds: 1, mqttResendIntervalSeconds: 2, callbackBackoffMaxMs: 1000, maxOutputBytes: OUTPUT_CAP },
});
const hub = await startHubFor(t, config, 'all');
// The host's yggdrasild: one MQTT subscription on its own topic.
const notifications: PullNotification[] = [];
const broker = await mqtt.connectAsync(MQTT_URL, { clientId: `test-host-${prefix}` });
broker.on('message', (_topic, payload) => notifications.push(pullNotificationSchema.parse(JSON.parse(payload.toString('utf8')))));
await broker.subscribeAsync(pullTopic(HOST), { qos: 1 });
t.teardown(() => broker.endAsync());

const PROXY_URL = 'https://proxy.example.com:9090';
const pullJob = (script: string, overrides: Record<string, unknown> = {}): HostJob =>
  hostJob('192.0.2.10', script, { alternative_names: { fqdn: HOST }, proxy_url: PROXY_URL, effective_user: 'deploy', ...overrides });
async function launch(jobs: HostJob[]): Promise<string> {
  const answer = await foremanClient.send('POST', `${hub.controlUrl}/dynflow/tasks/launch`, launchBody(jobs));
  if (answer.status !== 200) throw new Error(`launch answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  return (answer.body.parent as { task_id: string }).task_id;
}
const notified = (job: HostJob, count = 1): Promise<PullNotification[]> =>
  waitFor(() => {
    const mine = notifications.filter((n) => n.metadata.job_uuid === job.planId);
    return mine.length >= count ? mine : undefined;
  }, { what: `notification ${count} of ${job.planId}` });
const jobUrl = (notification: PullNotification): string => `${hub.ingressUrl}${new URL(notification.content).pathname}`;
const postUpdate = (client: typeof host, uuid: string, body: unknown) =>
  client.raw('POST', `${hub.ingressUrl}/ssh/jobs/${uuid}/update`, { headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify(body)) });

t.test('notify, fetch with the host certificate, v1 updates, callback', async (t) => {
  const job = pullJob('#!/bin/sh\r\necho hello from pull\r\n');
  await launch([job]);
  const [notification] = await notified(job);
  t.equal(notification?.content, `${PROXY_URL}/ssh/jobs/${job.planId}`, 'content: the job URL on the proxy');
  t.equal(notification?.metadata.return_url, `${PROXY_URL}/ssh/jobs/${job.planId}/update`);
  t.equal(notification?.metadata.event, 'start');
  t.equal(notification?.metadata.effective_user, 'deploy');
  t.equal(notification?.directive, 'foreman');

  const listed = await host.raw('GET', `${hub.ingressUrl}/ssh/jobs`);
  t.equal(listed.status, 200);
  t.same(JSON.parse(listed.body.toString('utf8')), [job.planId], 'the host sees its pending job');
  t.same(JSON.parse((await intruder.raw('GET', `${hub.ingressUrl}/ssh/jobs`)).body.toString('utf8')), [], 'another host sees none');

  const stolen = await intruder.raw('GET', jobUrl(notification as PullNotification));
  t.equal(stolen.status, 404, 'a certificate for another host gets 404');
  t.match(stolen.headers['content-type'], /^application\/problem\+json/);
  t.match(JSON.parse(stolen.body.toString('utf8')), { code: 'PROXYHUB_REX_TASK_NOT_FOUND', status: 404 }, 'a catalog problem');
  t.equal((await postUpdate(intruder, job.planId, { version: '1', updates: [{ type: 'exit', exit_code: 0 }] })).status, 404, 'and cannot finish the job');

  const fetched = await host.raw('GET', jobUrl(notification as PullNotification));
  t.equal(fetched.status, 200);
  t.equal(fetched.body.toString('utf8'), '#!/bin/sh\necho hello from pull\n', 'the raw script, CR removed');
  t.equal(fetched.headers['x-foreman-effective-user'], 'deploy');
  const delivered = await foremanClient.send('GET', `${hub.controlUrl}/dynflow/tasks/${job.planId}/status`);
  t.equal((delivered.body.actions as Array<{ output: { state: string } }>)[0]?.output.state, 'delivered');

  const now = new Date().toISOString();
  t.equal((await postUpdate(host, job.planId, { version: '1', updates: [{ type: 'output', timestamp: now, stream: 'stdout', content: 'hello from pull\n' }, { type: 'output', timestamp: now, stream: 'stderr', content: 'a warning\n' }] })).status, 200);
  t.equal((await postUpdate(host, job.planId, { version: '1', updates: [{ type: 'exit', timestamp: now, exit_code: 0 }] })).status, 200);
  const callback = await callbackFor(foreman, job);
  t.equal(callback.data.exit_status, 0);
  t.equal(stdoutOf(callback), 'hello from pull\n');
  t.ok(callback.data.result.some((r) => r.output_type === 'stderr' && r.output === 'a warning\n'));
  t.equal(callback.data.exit_status_timestamp, Date.parse(now) / 1000, "the exit time is the host's");
  const status = await foremanClient.send('GET', `${hub.controlUrl}/dynflow/tasks/${job.planId}/status`);
  t.equal(status.body.state, 'stopped');
  t.equal((await host.raw('GET', jobUrl(notification as PullNotification))).status, 404, 'a finished job is gone for the host');
});

t.test('the legacy update body', async (t) => {
  const job = pullJob('exit 2\n');
  await launch([job]);
  await notified(job);
  t.equal((await host.raw('GET', `${hub.ingressUrl}/ssh/jobs/${job.planId}`)).status, 200);
  t.equal((await postUpdate(host, job.planId, { output: ['legacy line\n'], type: 'stdout' })).status, 200);
  const unrecognised = await postUpdate(host, job.planId, { bogus: true, version: '7' });
  t.equal(unrecognised.status, 400, 'an update body of neither form is refused');
  t.match(JSON.parse(unrecognised.body.toString('utf8')), { code: 'PROXYHUB_INPUT_INVALID', errors: [{ location: 'body', field: 'body' }] });
  t.equal((await postUpdate(host, job.planId, { exit_code: 2 })).status, 200);
  const callback = await callbackFor(foreman, job);
  t.equal(callback.data.exit_status, 2);
  t.equal(stdoutOf(callback), 'legacy line\n');
  t.equal((await postUpdate(host, job.planId, { bogus: true, version: '7' })).status, 404, 'after the exit, the job takes no more updates');
});

t.test('a job nobody picks up is notified again; a cancel before pickup ends it', async (t) => {
  const job = pullJob('echo never\n');
  await launch([job]);
  const both = await notified(job, 2);
  t.not(both[0]?.message_id, both[1]?.message_id, 'each notification is its own message');
  const cancel = await foremanClient.send('POST', `${hub.controlUrl}/dynflow/tasks/${job.planId}/cancel`);
  t.same(cancel.body, { task_id: job.planId, canceled_steps_count: 1 });
  const callback = await callbackFor(foreman, job);
  t.equal(callback.data.exit_status, 'EXCEPTION');
  t.equal((await host.raw('GET', `${hub.ingressUrl}/ssh/jobs/${job.planId}`)).status, 404);
});

t.test('a cancel after pickup tells the host over MQTT', async (t) => {
  const job = pullJob('sleep 100\n');
  await launch([job]);
  await notified(job);
  t.equal((await host.raw('GET', `${hub.ingressUrl}/ssh/jobs/${job.planId}`)).status, 200);
  await foremanClient.send('POST', `${hub.controlUrl}/dynflow/tasks/${job.planId}/cancel`);
  const cancel = await waitFor(() => notifications.find((n) => n.metadata.job_uuid === job.planId && n.metadata.event === 'cancel'), { what: 'the MQTT cancel message' });
  t.equal(cancel.content, `${PROXY_URL}/ssh/jobs/${job.planId}/cancel`);
  t.equal((await callbackFor(foreman, job)).data.exit_status, 'EXCEPTION');
});

t.test('a host flooding output: stored up to the cap, one notice, later updates and the exit still taken', async (t) => {
  const job = pullJob('yes\n');
  await launch([job]);
  await notified(job);
  t.equal((await host.raw('GET', `${hub.ingressUrl}/ssh/jobs/${job.planId}`)).status, 200);
  const output = (content: string) => ({ type: 'output', timestamp: new Date().toISOString(), stream: 'stdout', content });
  const line = `${'y'.repeat(999)}\n`;
  // 3001 bytes, then 600 two-byte characters of which 547 fit: a character is never cut in half.
  const before = [line, line, line, 'y', 'é'.repeat(600)];
  for (const content of before) t.equal((await postUpdate(host, job.planId, { version: '1', updates: [output(content)] })).status, 200);
  for (let flood = 0; flood < 20; flood += 1) t.equal((await postUpdate(host, job.planId, { version: '1', updates: [output(line), output(line)] })).status, 200, 'past the cap the host is still answered 200');
  t.equal((await postUpdate(host, job.planId, { version: '1', updates: [output('z')] })).status, 200, 'a byte that would fit what is left is dropped too: nothing after the notice');
  t.equal((await postUpdate(host, job.planId, { version: '1', updates: [{ type: 'exit', timestamp: new Date().toISOString(), exit_code: 7 }] })).status, 200);
  const callback = await callbackFor(foreman, job);
  t.equal(callback.data.exit_status, 7, "the host's exit status after the cap");
  t.equal(stdoutOf(callback), `${line}${line}${line}y${'é'.repeat(547)}`, 'whole chunks, then the part that fits');
  t.equal(Buffer.byteLength(stdoutOf(callback)), OUTPUT_CAP - 1);
  const notices = callback.data.result.filter((r) => r.output_type === 'debug' && /truncated/.test(r.output));
  t.equal(notices.length, 1, 'one truncation notice');
  t.match(notices[0]?.output, /more than 4096 bytes/);
  t.equal(callback.data.result.length, before.length + 1, 'nothing else was stored');
});

t.test('pull routes need a client certificate', async (t) => {
  const anonymous = tlsClient(pki);
  t.teardown(() => anonymous.close());
  t.equal((await anonymous.raw('GET', `${hub.ingressUrl}/ssh/jobs`)).status, 403);
  t.equal((await anonymous.raw('GET', `${hub.ingressUrl}/ssh/pubkey`)).status, 200, 'the public key is open');
});
