/**
 * Discovery over TLS as Foreman uses it: `/version` and `/features` open, `/v2/features`,
 * `/capabilities` and its event stream only for a trusted certificate; running features say
 * `https_enabled`, as the smart-proxy's do on its HTTPS port.
 */
import t from 'tap';
import { testConfig } from '../helpers/hub-harness.ts';
import { createTestPki } from '../helpers/pki.ts';
import { startHubFor, usePrefix } from '../helpers/test-hub.ts';
import { tlsClient } from '../helpers/tls-client.ts';

const pki = createTestPki();
t.teardown(() => pki.remove());
const prefix = usePrefix(t);
const config = testConfig(prefix, 'http://127.0.0.1:9', { tls: { cert: pki.server.cert, key: pki.server.key, ca: pki.caCert }, trustedHosts: ['foreman.example.com'] });
// Certificates first: openssl runs synchronously and would stall the in-process hub's loop.
const clients = { foreman: tlsClient(pki, pki.client('foreman.example.com')), host: tlsClient(pki, pki.client('host1.example.com')), anonymous: tlsClient(pki) };
const hub = await startHubFor(t, config, 'control,worker:reports');
t.teardown(() => Promise.all(Object.values(clients).map((c) => c.close())));

t.test('Foreman reads /v2/features with its certificate; running features are https_enabled', async (t) => {
  const answer = await clients.foreman.send('GET', `${hub.controlUrl}/v2/features`);
  t.equal(answer.status, 200);
  t.strictSame(answer.body.reports, { http_enabled: false, https_enabled: true, settings: {}, state: 'running', capabilities: [] });
  t.equal((await clients.foreman.send('GET', `${hub.controlUrl}/capabilities`)).status, 200);
});

t.test('others are refused on the protected discovery routes, not on the open ones', async (t) => {
  for (const path of ['/v2/features', '/capabilities', '/capabilities/events']) {
    t.equal((await clients.host.send('GET', `${hub.controlUrl}${path}`)).status, 403, `${path}: untrusted CN`);
    t.equal((await clients.anonymous.send('GET', `${hub.controlUrl}${path}`)).status, 403, `${path}: no certificate`);
  }
  const features = await clients.anonymous.send('GET', `${hub.controlUrl}/features`);
  t.strictSame([features.status, features.body], [200, ['reports']]);
  const version = await clients.anonymous.send('GET', `${hub.controlUrl}/version`);
  t.equal((version.body as { modules: Record<string, string> }).modules.reports, '0.1.0');
});
