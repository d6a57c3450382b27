/**
 * End to end (issue 13): the unmodified `skopeo` (Debian package) pulls through the hub's TLS
 * ingress from a real registry (Debian's `docker-registry`, started here on loopback with its own
 * storage) holding an OCI image this test builds. The repository list is pushed first,
 * form-encoded, to the control listener, as Katello pushes it. `skopeo inspect` through the hub
 * reports the registry's digest; `skopeo copy` through the hub yields the same layers; a private
 * repository pulls with a host certificate and not without.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { Agent, request } from 'undici';
import { buildOciImage, ociLayerDigests, requireContainerTools, SKOPEO, startDockerRegistry } from '../helpers/docker-registry.ts';
import { testConfig } from '../helpers/hub-harness.ts';
import { createTestPki } from '../helpers/pki.ts';
import { KatelloStandIn } from '../helpers/registry-stand-in.ts';
import { startHubFor, usePrefix } from '../helpers/test-hub.ts';

// Asynchronous on purpose: the hub runs in this process and must answer while skopeo waits.
const run = promisify(execFile);
requireContainerTools();

const work = mkdtempSync(join(tmpdir(), 'proxyhub-skopeo-'));
t.teardown(() => rmSync(work, { recursive: true, force: true }));
const pki = createTestPki();
t.teardown(() => pki.remove());
const registry = await startDockerRegistry();
t.teardown(() => registry.stop());
// Katello is asked only for the private repository's token, which it refuses without credentials.
const katello = new KatelloStandIn();
await katello.start();
t.teardown(() => katello.stop());

const policy = join(work, 'policy.json');
writeFileSync(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
const skopeo = async (...args: string[]): Promise<string> => (await run(SKOPEO, ['--policy', policy, ...args], { env: { ...process.env, HOME: work, TMPDIR: work }, timeout: 60_000 })).stdout;

const HOST_UUID = '4f1c3f4e-1b7a-4c55-9d2a-0e6f1c2b3a4d';
const caDir = join(work, 'ca');
const hostDir = join(work, 'host');
for (const dir of [caDir, hostDir]) {
  await run('mkdir', ['-p', dir]);
  copyFileSync(pki.caCert, join(dir, 'ca.crt'));
}
const hostCert = pki.client(HOST_UUID);
copyFileSync(hostCert.cert, join(hostDir, 'host.cert'));
copyFileSync(hostCert.key, join(hostDir, 'host.key'));

const image = buildOciImage(join(work, 'image'), 'v1', 'hello from proxyhub\n');
for (const repository of ['e2e/hello', 'e2e/private']) {
  await skopeo('copy', `oci:${image.dir}:v1`, `docker://127.0.0.1:${registry.port}/${repository}:v1`, '--dest-tls-verify=false');
}

const prefix = usePrefix(t);
const config = testConfig(prefix, katello.url, {
  tls: { cert: pki.server.cert, key: pki.server.key, ca: pki.caCert },
  trustedHosts: ['foreman.test'],
  containerGateway: { registryUrl: registry.url, clientEndpoint: registry.url },
});
const hub = await startHubFor(t, config, 'all');
const ingress = new URL(hub.ingressUrl as string).host;

const foremanCert = pki.client('foreman.test');
const foreman = new Agent({ connect: { ca: pki.read(pki.caCert), cert: pki.read(foremanCert.cert), key: pki.read(foremanCert.key) } });
t.teardown(() => foreman.close());
async function push(route: string, pairs: Array<[string, string]>): Promise<number> {
  const response = await request(`${hub.controlUrl}/container_gateway/${route}`, { method: 'PUT', dispatcher: foreman, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(pairs).toString() });
  await response.body.dump();
  return response.statusCode;
}

// Before the first test: tap ends the file once its tests are done, and a top-level await
// between two tests can outlast that on a busy machine. skopeo compressed the layer on its way
// into the registry: the registry's digests are the reference.
const direct = JSON.parse(await skopeo('inspect', '--tls-verify=false', `docker://127.0.0.1:${registry.port}/e2e/hello:v1`)) as { Digest: string; Layers: string[] };

t.test('Katello\'s pushes, form-encoded', async (t) => {
  t.equal(await push('repository_list', [['repositories[][repository]', 'e2e/hello'], ['repositories[][auth_required]', 'false'], ['repositories[][repository]', 'e2e/private'], ['repositories[][auth_required]', 'true']]), 200);
  t.equal(await push('update_hosts', [['hosts[][uuid]', HOST_UUID]]), 200);
  t.equal(await push('host_repository_mapping', [[`hosts[][${HOST_UUID}][][repository]`, 'e2e/private'], [`hosts[][${HOST_UUID}][][auth_required]`, 'true']]), 200);
});

t.test('skopeo inspect through the hub reports the digest the registry reports', async (t) => {
  const through = JSON.parse(await skopeo('inspect', '--cert-dir', caDir, `docker://${ingress}/e2e/hello:v1`)) as { Digest: string; Layers: string[] };
  t.match(direct.Digest, /^sha256:[0-9a-f]{64}$/);
  t.equal(through.Digest, direct.Digest);
  t.strictSame(through.Layers, direct.Layers);
});

t.test('skopeo copy through the hub yields the same layer digests', async (t) => {
  const out = join(work, 'copied');
  await skopeo('copy', '--src-cert-dir', caDir, `docker://${ingress}/e2e/hello:v1`, `oci:${out}:v1`);
  t.strictSame(ociLayerDigests(out, 'v1'), direct.Layers);
  t.equal(direct.Layers.length, 1);
});

t.test('a private repository: the host certificate pulls it, an anonymous client is refused', async (t) => {
  const out = join(work, 'private');
  await skopeo('copy', '--src-cert-dir', hostDir, `docker://${ingress}/e2e/private:v1`, `oci:${out}:v1`);
  t.strictSame(ociLayerDigests(out, 'v1'), direct.Layers);
  const refused = await skopeo('inspect', '--cert-dir', caDir, `docker://${ingress}/e2e/private:v1`).then(() => '', (error: unknown) => String((error as { stderr?: unknown }).stderr));
  // skopeo first asks a token for the private scope: Katello refuses a client without credentials.
  t.match(refused, /unauthorized: authentication required|name unknown/i, `no certificate, no credentials: refused (${refused.slice(0, 2000)})`);
  t.ok(katello.calls.some((call) => call.url.startsWith('/v2/token') && call.headers.authorization === undefined), 'Katello was asked, without credentials');
});
