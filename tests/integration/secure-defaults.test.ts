/**
 * Secure by default, over real TLS sockets with a throwaway CA and the whole hub (role all):
 * with trusted_hosts unset, no certificate from the CA (a host's or even Foreman's) reaches a
 * control route that acts or exposes host data, while discovery stays open; and an upload is
 * accepted only for the host its certificate names, unless the uploader is a relay client.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { routeTables } from '../../cli/plan.ts';
import { FIXTURES } from '../helpers/hub-harness.ts';
import { startHubWithForeman } from '../helpers/hub-with-foreman.ts';
import { createTestPki } from '../helpers/pki.ts';
import { tlsClient } from '../helpers/tls-client.ts';
import { waitFor } from '../helpers/wait-for.ts';

const pki = createTestPki();
// Certificates first: openssl runs synchronously and would stall the in-process hub's loop.
const certs = { hostA: pki.client('hosta.example.com'), hostB: pki.client('hostb.example.com'), foreman: pki.client('foreman.example.com'), puppet: pki.client('puppet.example.com') };
const clients = { hostA: tlsClient(pki, certs.hostA), hostB: tlsClient(pki, certs.hostB), foreman: tlsClient(pki, certs.foreman), puppet: tlsClient(pki, certs.puppet) };
const tls = { cert: pki.server.cert, key: pki.server.key, ca: pki.caCert };
const { hub, foreman, config } = await startHubWithForeman(t, { overrides: () => ({ tls, devOpenControl: false, relayClients: ['Puppet.Example.COM'] }) });
t.teardown(async () => {
  await Promise.all(Object.values(clients).map((client) => client.close()));
  pki.remove();
});

/** A route pattern with every parameter filled in, so that only the guard can answer. */
function concrete(url: string): string {
  return url.replace(/:[a-z_]+/gi, (name) => (name === ':policy_id' ? '1' : 'x1'));
}

t.test('trusted_hosts unset: every acting and data control route refuses every certificate', async (t) => {
  const protectedRoutes = (await routeTables(config)).control.filter((route) => route.guard.startsWith('trusted_hosts'));
  t.ok(protectedRoutes.length >= 15, `${protectedRoutes.length} protected control routes`);
  for (const route of protectedRoutes) {
    for (const [who, client] of [['a host', clients.hostA], ['Foreman itself (unlisted)', clients.foreman]] as const) {
      const answer = await client.raw(route.method as 'GET' | 'POST' | 'DELETE', `${hub.controlUrl}${concrete(route.url)}`, route.method === 'POST' ? { headers: { 'content-type': 'application/json' }, body: Buffer.from('{}') } : {});
      t.equal(answer.status, 403, `${route.method} ${route.url} refuses ${who}`);
      t.equal((JSON.parse(answer.body.toString()) as { code: string }).code, 'PROXYHUB_AUTH_NOT_TRUSTED');
    }
  }
});

t.test('discovery stays readable', async (t) => {
  for (const path of ['/version', '/features']) t.equal((await clients.hostA.send('GET', `${hub.controlUrl}${path}`)).status, 200, path);
});

t.test('host A cannot upload facts for host B; nothing is published', async (t) => {
  const forB = await clients.hostA.send('POST', `${hub.ingressUrl}/api/v2/hosts/facts`, { name: 'hostb.example.com', facts: { evil: 'yes' } });
  t.equal(forB.status, 403);
  t.equal(forB.body.code, 'PROXYHUB_AUTH_HOST_MISMATCH');
  t.equal((forB.body.errors as Array<{ field: string }> | undefined)?.[0]?.field ?? forB.body.field, 'name', 'the answer names the field');
  const certname = await clients.hostA.send('POST', `${hub.ingressUrl}/api/hosts/facts`, { name: 'hosta.example.com', certname: 'hostb.example.com', facts: {} });
  t.equal(certname.status, 403, 'certname naming another host is refused too (Foreman looks hosts up by it first)');
  // Own facts, in another letter case, go through; they are the only facts Foreman ever sees.
  const own = await clients.hostA.send('POST', `${hub.ingressUrl}/api/v2/hosts/facts`, { name: 'HostA.Example.com', facts: { os: 'linux' } });
  t.equal(own.status, 202);
  await waitFor(() => foreman.delivered('/api/v2/hosts/facts').length === 1, { what: 'host A own facts delivered' });
  t.equal(foreman.requests.filter((r) => r.path.endsWith('/hosts/facts')).length, 1, 'the refused uploads never reached Foreman');
  t.equal((foreman.delivered('/api/v2/hosts/facts')[0]?.body as { name: string }).name, 'HostA.Example.com');
});

t.test('host A cannot send a report (and the facts inside it) for host B', async (t) => {
  const puppet = readFileSync(join(FIXTURES, 'reports', 'smart_proxy_reports-puppet-file-failure.yaml'), 'utf8').replace(/^host: .*$/m, 'host: hostb.example.com');
  const yamlAnswer = await clients.hostA.raw('POST', `${hub.ingressUrl}/reports/puppet`, { headers: { 'content-type': 'application/x-yaml' }, body: Buffer.from(puppet) });
  t.equal(yamlAnswer.status, 403, 'Puppet report for another host');
  const ansible = JSON.parse(readFileSync(join(FIXTURES, 'reports', 'smart_proxy_reports-ansible-package-install-success.json'), 'utf8')) as Record<string, unknown>;
  const forB = await clients.hostA.send('POST', `${hub.ingressUrl}/reports/ansible`, { ...ansible, host: 'hostb.example.com' });
  t.equal(forB.status, 403, 'Ansible report (with gathered facts) for another host');
  t.equal(forB.body.code, 'PROXYHUB_AUTH_HOST_MISMATCH');
  const own = await clients.hostB.send('POST', `${hub.ingressUrl}/reports/ansible`, { ...ansible, host: 'hostb.example.com' });
  t.equal(own.status, 202, 'host B may send its own');
});

t.test('a relay client (node.rb on the Puppet server) uploads facts for any host, unchanged', async (t) => {
  const nodeRb = JSON.parse(readFileSync(join(FIXTURES, 'facts', 'expected', 'node.rb-push-facts-body.fake.host.fqdn.com.json'), 'utf8')) as { name: string };
  const factsPosts = () => foreman.delivered('/api/v2/hosts/facts');
  const before = factsPosts().length;
  const answer = await clients.puppet.send('POST', `${hub.ingressUrl}/api/hosts/facts`, nodeRb);
  t.equal(answer.status, 202);
  await waitFor(() => factsPosts().length === before + 1, { what: 'node.rb facts delivered' });
  t.same(factsPosts().at(-1)?.body, nodeRb, 'Foreman receives the body node.rb sent');
});
