/**
 * REX pull-mqtt on a broker that requires client certificates, as a production Mosquitto is set
 * up (TLS listener, `require_certificate`, the certificate's CN as the user name, an ACL that lets
 * each host read only its own topic). The rex worker's notifier presents its certificate over
 * `mqtts://`; the host reads its notification; another host, and a client without a certificate,
 * get nothing.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import t from 'tap';
import { pullNotificationSchema, pullTopic, type PullNotification } from '../../contracts/rex/mqtt.ts';
import { createLogger } from '../../hub/log/logger.ts';
import { createMqttNotifier } from '../../workers/rex/mqtt-notifier.ts';
import { freePort } from '../helpers/free-port.ts';
import { createTestPki, type CertFiles } from '../helpers/pki.ts';
import { waitFor } from '../helpers/wait-for.ts';

const PROXY = 'proxy.example.com';
const HOST = 'pull-tls.example.com';
const OTHER = 'other-tls.example.com';
const pki = createTestPki();
t.teardown(() => pki.remove());
const proxyCert = pki.client(PROXY);
const hostCert = pki.client(HOST);
const otherCert = pki.client(OTHER);

// The broker: TLS only, a certificate required and taken as the user name, one topic per host.
const port = await freePort();
const dir = mkdtempSync(join(tmpdir(), 'proxyhub-mqtt-tls-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, 'acl'), `user ${PROXY}\ntopic write yggdrasil/+/data/in\n\npattern read yggdrasil/%u/data/in\n`);
writeFileSync(
  join(dir, 'mosquitto.conf'),
  [
    // Started as root, Mosquitto would switch to its own user, who cannot read this test's files.
    `user ${userInfo().username}`,
    'per_listener_settings true',
    `listener ${port} 127.0.0.1`,
    'allow_anonymous false',
    `cafile ${pki.caCert}`,
    `certfile ${pki.server.cert}`,
    `keyfile ${pki.server.key}`,
    'require_certificate true',
    'use_identity_as_username true',
    `acl_file ${join(dir, 'acl')}`,
    'persistence false',
    '',
  ].join('\n'),
);
const broker = spawn('mosquitto', ['-c', join(dir, 'mosquitto.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
let brokerLog = '';
broker.stderr.on('data', (chunk: Buffer) => (brokerLog += chunk.toString()));
t.teardown(() => {
  broker.kill();
});
const url = `mqtts://127.0.0.1:${port}`;

function subscriber(cert: CertFiles | undefined, clientId: string): Promise<MqttClient> {
  return mqtt.connectAsync(url, {
    clientId,
    ca: pki.read(pki.caCert),
    ...(cert === undefined ? {} : { cert: pki.read(cert.cert), key: pki.read(cert.key) }),
    reconnectPeriod: 0,
    connectTimeout: 5000,
  });
}

// The broker is up once a host can connect.
const host = await waitFor(() => subscriber(hostCert, 'host').catch(() => undefined), { what: `mosquitto on ${port}`, timeoutMs: 10_000 }).catch((error: unknown) => {
  throw new Error(`${String(error)}; mosquitto said: ${brokerLog}`);
});
t.teardown(() => host.endAsync());

t.test('the notifier presents its certificate; the host reads its own topic, another host reads nothing', async (t) => {
  const received: PullNotification[] = [];
  host.on('message', (_topic, payload) => received.push(pullNotificationSchema.parse(JSON.parse(payload.toString('utf8')))));
  await host.subscribeAsync(pullTopic(HOST), { qos: 1 });
  const other = await subscriber(otherCert, 'other');
  t.teardown(() => other.endAsync());
  const overheard: string[] = [];
  other.on('message', (topic) => overheard.push(topic));
  await other.subscribeAsync(pullTopic(HOST), { qos: 1 });
  await other.subscribeAsync('yggdrasil/#', { qos: 1 });

  const notifier = createMqttNotifier({ url, tls: { cert: proxyCert.cert, key: proxyCert.key, ca: pki.caCert }, clientId: 'proxyhub-rex-test', logger: createLogger('silent') });
  await notifier.start();
  t.teardown(() => notifier.close());
  await notifier.notify({ host: HOST, baseUrl: 'https://proxy.example.com:8443', jobUuid: 'job-1', event: 'start', effectiveUser: 'root' });
  const [notification] = await waitFor(() => (received.length > 0 ? received : undefined), { what: 'the host to be notified' });
  t.equal(notification?.metadata.job_uuid, 'job-1');
  // The other host's subscription to that topic was refused by the ACL: a second notification
  // reaches the host while the other host still has nothing.
  await notifier.notify({ host: HOST, baseUrl: 'https://proxy.example.com:8443', jobUuid: 'job-2', event: 'cancel', effectiveUser: null });
  await waitFor(() => (received.length > 1 ? true : undefined), { what: 'the second notification' });
  t.strictSame(overheard, [], "another host's certificate reads nothing of it");
});

t.test('without a client certificate the broker refuses the connection, the notifier included', async (t) => {
  await t.rejects(subscriber(undefined, 'anonymous'), 'a client without a certificate is refused');
  const bare = createMqttNotifier({ url, tls: { ca: pki.caCert }, clientId: 'proxyhub-rex-nocert', logger: createLogger('silent') });
  t.teardown(() => bare.close());
  await t.rejects(bare.start(), 'a notifier that presents no certificate does not get in');
});
