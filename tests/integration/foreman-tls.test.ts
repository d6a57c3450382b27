/**
 * Outbound to Foreman: the workers present the proxy's client certificate and verify Foreman's
 * server certificate against the configured CA; a Foreman that cannot prove itself gets no data.
 */
import t, { type Test } from 'tap';
import { createTopology } from '../../contracts/topology.ts';
import { queueDepth, testConfig } from '../helpers/hub-harness.ts';
import { createTestPki } from '../helpers/pki.ts';
import { TestForeman } from '../helpers/test-foreman.ts';
import { startHubFor, usePrefix } from '../helpers/test-hub.ts';
import { holdsFor, waitFor } from '../helpers/wait-for.ts';

const FACTS = '/api/v2/hosts/facts';
const pki = createTestPki();
const proxyCert = pki.client('proxy.example.com');
t.teardown(() => pki.remove());

/** A hub for `t` whose worker talks to `foreman` (which `t` must stop after the hub). */
async function hubAgainst(t: Test, foreman: TestForeman) {
  const prefix = usePrefix(t);
  const config = testConfig(prefix, foreman.url, { foreman: { url: foreman.url, cert: proxyCert.cert, key: proxyCert.key, ca: pki.caCert, timeoutMs: 2000 } });
  const hub = await startHubFor(t, config, 'ingress,worker:facts');
  const upload = async (name: string) => {
    const response = await fetch(`${hub.ingressUrl}${FACTS}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, facts: {} }) });
    if (response.status !== 202) throw new Error(`upload answered ${response.status}`);
  };
  return { prefix, hub, upload };
}

t.test('the worker presents the proxy certificate and verifies Foreman', async (t) => {
  const server = pki.server;
  const foreman = new TestForeman({ tls: { cert: pki.read(server.cert), key: pki.read(server.key), ca: pki.read(pki.caCert) } });
  await foreman.start();
  t.teardown(() => foreman.stop());
  const hub = await hubAgainst(t, foreman);
  await hub.upload('tls.example.com');
  const delivered = await waitFor(() => foreman.delivered(FACTS)[0], { what: 'delivery over TLS' });
  t.equal(delivered.clientCn, 'proxy.example.com', 'Foreman saw the proxy’s certificate');
  t.same(delivered.body, { name: 'tls.example.com', facts: {} });
});

t.test('a Foreman whose certificate the CA did not sign gets nothing, and the event waits', async (t) => {
  const impostorCert = pki.client('localhost', { ca: 'other' });
  const impostor = new TestForeman({ tls: { cert: pki.read(impostorCert.cert), key: pki.read(impostorCert.key), ca: pki.read(pki.caCert) } });
  await impostor.start();
  t.teardown(() => impostor.stop());
  const hub = await hubAgainst(t, impostor);
  await hub.upload('secret.example.com');
  t.ok(await holdsFor(() => impostor.received === 0, 1500), 'no request reached the impostor');
  const topology = createTopology(hub.prefix);
  t.equal(await queueDepth(topology.deadLetterQueue('facts')), 0, 'a TLS failure is transient: retried, not dead-lettered');
});
