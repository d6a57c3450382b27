/**
 * TLS over real sockets with a throwaway CA: a verified client certificate gets through and its
 * CN rides in the event; no certificate, another CA's, or an expired one is refused on upload
 * routes; trusted_hosts guards control routes with smart-proxy semantics; TLS 1.1 is refused.
 */
import t from 'tap';
import { createTopology } from '../../contracts/topology.ts';
import { testConfig, withChannel } from '../helpers/hub-harness.ts';
import { createTestPki } from '../helpers/pki.ts';
import { startHubFor, usePrefix } from '../helpers/test-hub.ts';
import { tlsClient } from '../helpers/tls-client.ts';

const pki = createTestPki();
t.teardown(() => pki.remove());
const prefix = usePrefix(t);
const config = testConfig(prefix, 'http://127.0.0.1:9', {
  tls: { cert: pki.server.cert, key: pki.server.key, ca: pki.caCert },
  // Mixed case on purpose: the smart-proxy compares lowercased names.
  trustedHosts: ['Foreman.Example.COM'],
});
// Certificates first: openssl runs synchronously and would stall the in-process hub's loop.
const host = pki.client('host1.example.com');
const clients = {
  host: tlsClient(pki, host),
  foreman: tlsClient(pki, pki.client('foreman.example.com')),
  anonymous: tlsClient(pki),
  otherCa: tlsClient(pki, pki.client('host1.example.com', { ca: 'other' })),
  expired: tlsClient(pki, pki.client('host1.example.com', { expired: true })),
};
const hub = await startHubFor(t, config, 'ingress,control');
const topology = createTopology(prefix);
t.teardown(() => Promise.all(Object.values(clients).map((c) => c.close())));

const facts = { name: 'host1.example.com', facts: { os: 'linux' } };

t.test('both listeners speak HTTPS', async (t) => {
  t.match(hub.ingressUrl, /^https:\/\//);
  t.match(hub.controlUrl, /^https:\/\//);
});

t.test('a verified client certificate gets through and its CN reaches the event', async (t) => {
  const answer = await clients.host.send('POST', `${hub.ingressUrl}/api/v2/hosts/facts`, facts);
  t.equal(answer.status, 202);
  const event = await withChannel(async (channel) => {
    const message = await channel.get(topology.workQueue('facts'), { noAck: true });
    return message === false ? undefined : (JSON.parse(message.content.toString()) as { id: string; clientcn?: string });
  });
  t.equal(event?.id, answer.body.id, 'the event answered 202 is on the queue');
  t.equal(event?.clientcn, 'host1.example.com', 'the certificate CN travels with the event');
});

for (const [name, client] of [['no certificate', 'anonymous'], ['a certificate from another CA', 'otherCa'], ['an expired certificate', 'expired']] as const) {
  t.test(`${name} is refused on upload routes`, async (t) => {
    for (const path of ['/api/v2/hosts/facts', '/api/hosts/facts', '/reports/ansible']) {
      const answer = await clients[client].send('POST', `${hub.ingressUrl}${path}`, path.startsWith('/reports') ? { host: 'h' } : facts);
      t.equal(answer.status, 403, `${path} → 403`);
      t.equal(answer.body.code, 'PROXYHUB_AUTH_CERT_REQUIRED', path);
    }
  });
}

t.test('trusted_hosts: a listed CN (any case) passes, another CN gets 403, no certificate gets 403', async (t) => {
  const listed = await clients.foreman.send('GET', `${hub.controlUrl}/dead-letters`);
  t.equal(listed.status, 200, 'foreman.example.com is trusted');
  t.ok(Array.isArray(listed.body.deadLetters));
  const host_ = await clients.host.send('GET', `${hub.controlUrl}/dead-letters`);
  t.equal(host_.status, 403);
  t.equal(host_.body.code, 'PROXYHUB_AUTH_NOT_TRUSTED');
  const anonymous = await clients.anonymous.send('GET', `${hub.controlUrl}/dead-letters`);
  t.equal(anonymous.status, 403);
  const expired = await clients.expired.send('POST', `${hub.controlUrl}/dead-letters/replay`, { all: true });
  t.equal(expired.status, 403, 'an expired certificate of a trusted name is still refused');
});

t.test('open routes stay open, as in the smart-proxy', async (t) => {
  t.equal((await clients.anonymous.send('GET', `${hub.controlUrl}/version`)).status, 200, '/version');
  t.equal((await clients.anonymous.send('GET', `${hub.ingressUrl}/healthz`)).status, 200, '/healthz');
});

t.test('TLS 1.1 and older are refused at the handshake', async (t) => {
  const old = tlsClient(pki, host, { maxVersion: 'TLSv1.1' });
  await t.rejects(old.send('GET', `${hub.ingressUrl}/healthz`), 'no TLS 1.1 handshake');
  await old.close();
});

t.test('a connection cannot renegotiate (its identity is read once per connection)', { timeout: 20_000 }, async (t) => {
  // TLS 1.2: the only version with renegotiation. A client that renegotiates could otherwise
  // present another certificate on a connection whose CN the hub has already taken.
  const { connect } = await import('node:tls');
  const { readFileSync } = await import('node:fs');
  const url = new URL(hub.ingressUrl as string);
  const socket = connect({ host: url.hostname, port: Number(url.port), ca: readFileSync(pki.caCert), cert: readFileSync(host.cert), key: readFileSync(host.key), maxVersion: 'TLSv1.2', servername: 'localhost' });
  await new Promise<void>((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
  const outcome = await new Promise<string>((resolve) => {
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(`error ${error.code ?? error.message}`));
    socket.once('close', () => resolve('closed'));
    socket.renegotiate({ rejectUnauthorized: true }, (error) => resolve(error ? `error ${error.message}` : 'renegotiated'));
    // The renegotiation goes out with the next record.
    socket.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n');
  });
  socket.destroy();
  t.not(outcome, 'renegotiated', `the server refused it (${outcome})`);
});
