/**
 * Who may read `/metrics`, over real TLS with a throwaway CA: on the ingress only the listed
 * metrics reader (a Prometheus server's certificate), never a host nor Foreman; on the control
 * listener Foreman (trusted_hosts) and the reader, never a host; and the reader gains nothing
 * else on the control listener: reading metrics is not acting.
 */
import t from 'tap';
import { startHubWithForeman } from '../helpers/hub-with-foreman.ts';
import { createTestPki } from '../helpers/pki.ts';
import { tlsClient } from '../helpers/tls-client.ts';

const pki = createTestPki();
// Certificates first: openssl runs synchronously and would stall the in-process hub's loop.
const certs = { host: pki.client('hosta.example.com'), foreman: pki.client('foreman.example.com'), prometheus: pki.client('prometheus.example.com') };
const clients = { host: tlsClient(pki, certs.host), foreman: tlsClient(pki, certs.foreman), prometheus: tlsClient(pki, certs.prometheus), anonymous: tlsClient(pki) };
const tls = { cert: pki.server.cert, key: pki.server.key, ca: pki.caCert };
const { hub } = await startHubWithForeman(t, {
  overrides: () => ({ tls, devOpenControl: false, trustedHosts: ['foreman.example.com'], observability: { metricsPort: 0, metricsReaders: ['Prometheus.Example.com'] } }),
});
t.teardown(async () => {
  await Promise.all(Object.values(clients).map((client) => client.close()));
  pki.remove();
});

async function metrics(client: ReturnType<typeof tlsClient>, url: string | undefined): Promise<{ status: number; code?: string; text: string }> {
  const answer = await client.raw('GET', `${url ?? ''}/metrics`);
  const text = answer.body.toString('utf8');
  return { status: answer.status, text, ...(answer.status === 200 ? {} : { code: (JSON.parse(text) as { code: string }).code }) };
}

t.test('the ingress: the listed reader only', async (t) => {
  const reader = await metrics(clients.prometheus, hub.ingressUrl);
  t.equal(reader.status, 200, 'Prometheus (listed, in another letter case)');
  t.match(reader.text, /proxyhub_http_requests_total/);
  t.match(await metrics(clients.host, hub.ingressUrl), { status: 403, code: 'PROXYHUB_AUTH_NOT_TRUSTED' }, 'a host is refused');
  t.match(await metrics(clients.foreman, hub.ingressUrl), { status: 403, code: 'PROXYHUB_AUTH_NOT_TRUSTED' }, 'Foreman too: trusted_hosts is the control listener’s list');
  t.match(await metrics(clients.anonymous, hub.ingressUrl), { status: 403, code: 'PROXYHUB_AUTH_CERT_REQUIRED' }, 'no certificate, no metrics');
  t.equal((await clients.host.send('GET', `${hub.ingressUrl}/readyz`)).status, 200, 'readiness stays open to hosts');
});

t.test('the control listener: Foreman and the reader, not a host', async (t) => {
  t.equal((await metrics(clients.foreman, hub.controlUrl)).status, 200, 'Foreman (trusted_hosts)');
  t.equal((await metrics(clients.prometheus, hub.controlUrl)).status, 200, 'the metrics reader');
  t.match(await metrics(clients.host, hub.controlUrl), { status: 403, code: 'PROXYHUB_AUTH_NOT_TRUSTED' }, 'a host is refused');
});

t.test('the reader cannot act on the control listener', async (t) => {
  const replay = await clients.prometheus.send('POST', `${hub.controlUrl}/dead-letters/replay`, { all: true });
  t.equal(replay.status, 403);
  t.equal(replay.body.code, 'PROXYHUB_AUTH_NOT_TRUSTED');
  t.equal((await clients.prometheus.send('GET', `${hub.controlUrl}/dead-letters`)).status, 403, 'nor read host data');
});
