/**
 * The container gateway through the hub (issue 13): Katello's form-encoded pushes to the control
 * listener, pulls through a TLS ingress for each auth path (host certificate, bearer token,
 * anonymous, refused), token expiry, the whole-table replace under concurrent pulls, blobs that
 * never cross the broker, and pulls that keep working with Foreman (Katello) down. The registry
 * and Katello are stand-ins (tests/helpers/registry-stand-in.ts).
 * Runs once per transport, AMQP 0-9-1 and AMQP 1.0 (@every-transport; see scripts/test.mjs).
 */
import { createHash } from 'node:crypto';
import t from 'tap';
import { request } from 'undici';
import { Redis } from 'ioredis';
import { testConfig, REDIS_URL } from '../helpers/hub-harness.ts';
import { startHubFor, usePrefix } from '../helpers/test-hub.ts';
import { createTestPki, type CertFiles } from '../helpers/pki.ts';
import { agentsByCertificate } from '../helpers/tls-client.ts';
import { KatelloStandIn, MANIFEST_V2, OCI_MANIFEST, RegistryStandIn, manifestFor } from '../helpers/registry-stand-in.ts';
import { waitFor } from '../helpers/wait-for.ts';

const pki = createTestPki();
t.teardown(() => pki.remove());
const registry = new RegistryStandIn();
await registry.start();
t.teardown(() => registry.stop());
const katello = new KatelloStandIn();
await katello.start();
t.teardown(() => katello.stop());

const prefix = usePrefix(t);
const config = testConfig(prefix, katello.url, {
  tls: { cert: pki.server.cert, key: pki.server.key, ca: pki.caCert },
  trustedHosts: ['foreman.test'],
  containerGateway: { registryUrl: `${registry.url}/registry`, clientEndpoint: 'https://cdn.example.com' },
});
const hub = await startHubFor(t, config, 'all');
const ingress = hub.ingressUrl as string;
const control = hub.controlUrl as string;

const foremanCert = pki.client('foreman.test');
const hostCert = pki.client('11111111-2222-3333-4444-555555555555');
const strangerHostCert = pki.client('99999999-2222-3333-4444-555555555555');
const lateHostCert = pki.client('aaaaaaaa-2222-3333-4444-555555555555');

const agentFor = agentsByCertificate(t, pki);

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
}

async function call(method: 'GET' | 'HEAD' | 'PUT' | 'POST' | 'PATCH', url: string, options: { cert?: CertFiles; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  const response = await request(url, { method, dispatcher: agentFor(options.cert), ...(options.headers ? { headers: options.headers } : {}), ...(options.body === undefined ? {} : { body: options.body }) });
  return { status: response.statusCode, headers: response.headers, text: await response.body.text() };
}

const form = (pairs: Array<[string, string]>): string => new URLSearchParams(pairs).toString();
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const basic = (login: string, password: string): string => `Basic ${Buffer.from(`${login}:${password}`).toString('base64')}`;

async function push(route: string, pairs: Array<[string, string]>): Promise<Answer> {
  return call('PUT', `${control}/container_gateway/${route}`, { cert: foremanCert, headers: FORM, body: form(pairs) });
}

function repositoryPairs(entries: Array<[string, boolean]>): Array<[string, string]> {
  return entries.flatMap(([name, auth]): Array<[string, string]> => [['repositories[][repository]', name], ['repositories[][auth_required]', String(auth)]]);
}

// The order Katello pushes in at the end of a capsule sync (§4.1).
t.test('Katello pushes the tables form-encoded to the control listener, trusted_hosts and certificate only', async (t) => {
  t.equal((await call('PUT', `${control}/container_gateway/repository_list`, { headers: FORM, body: form(repositoryPairs([['open/app', false]])) })).status, 403, 'no certificate: refused');
  t.equal((await call('PUT', `${control}/container_gateway/repository_list`, { cert: hostCert, headers: FORM, body: form(repositoryPairs([['open/app', false]])) })).status, 403, 'not a trusted host: refused');
  const pushed = await push('repository_list', repositoryPairs([['open/app', false], ['private/app', true], ['old/pulp', false], ['paged', false], ['missing', false]]));
  t.equal(pushed.status, 200);
  t.strictSame(JSON.parse(pushed.text), {});
  t.equal((await push('user_repository_mapping', [['users[][alice][][repository]', 'private/app'], ['users[][alice][][auth_required]', 'true']])).status, 200);
  t.equal((await push('update_hosts', [['hosts[][uuid]', '11111111-2222-3333-4444-555555555555'], ['hosts[][uuid]', ''], ['hosts[][uuid]', '99999999-2222-3333-4444-555555555555']])).status, 200);
  t.equal((await push('host_repository_mapping', [['hosts[][11111111-2222-3333-4444-555555555555][][repository]', 'private/app'], ['hosts[][11111111-2222-3333-4444-555555555555][][auth_required]', 'true']])).status, 200);
  const invalid = await push('repository_list', [['repositories[][repository]', '../etc'], ['repositories[][auth_required]', 'true']]);
  t.equal(invalid.status, 400, 'a name that is no registry name is refused');
  t.equal((await call('GET', `${control}/container_gateway/users`, { cert: foremanCert })).text, JSON.stringify({ users: [] }));
});

t.test('anonymous: the challenge names the origin the client used; open repositories pull with Katello\'s unauthenticated token', async (t) => {
  const ping = await call('GET', `${ingress}/v2/`);
  t.equal(ping.status, 401);
  t.equal(ping.headers['docker-distribution-api-version'], 'registry/2.0');
  const host = new URL(ingress).host;
  t.equal(ping.headers['www-authenticate'], `Bearer realm="https://${host}/v2/token",service="${host}",scope="repository:registry:pull,push"`);
  const token = await call('GET', `${ingress}/v2/token?scope=repository:open/app:pull&service=${host}`);
  t.equal(token.status, 200);
  t.equal((JSON.parse(token.text) as { token: string }).token, 'unauthenticated', 'answered without Katello');
  t.equal(katello.calls.length, 0);
  for (const headers of [{}, { authorization: 'Bearer unauthenticated' }]) {
    const manifest = await call('GET', `${ingress}/v2/open/app/manifests/latest`, { headers: { ...headers, accept: OCI_MANIFEST } });
    const expected = manifestFor('open/app', 'latest', OCI_MANIFEST);
    t.equal(manifest.status, 200);
    t.equal(manifest.text, expected.body, 'the manifest the registry chose by Accept (#37399)');
    t.equal(manifest.headers['content-type'], OCI_MANIFEST);
    t.equal(manifest.headers['docker-content-digest'], expected.digest);
  }
  const head = await call('HEAD', `${ingress}/v2/open/app/manifests/latest`);
  t.equal(head.status, 200);
  t.equal(head.headers['docker-content-digest'], manifestFor('open/app', 'latest', MANIFEST_V2).digest, 'HEAD carries the digest');
  t.equal(head.text, '');
  const catalog = await call('GET', `${ingress}/v2/_catalog`, { headers: { authorization: 'Bearer unauthenticated' } });
  t.strictSame(JSON.parse(catalog.text), { repositories: ['missing', 'old/pulp', 'open/app', 'paged'] });
  t.equal((await call('GET', `${ingress}/v2/_catalog`)).status, 401, 'no token at all: challenged');
  const tags = await call('GET', `${ingress}/v2/paged/tags/list?n=2`);
  t.equal(tags.status, 200);
  t.match(String(tags.headers.link), /rel="next"/);
  t.equal((await call('GET', `${ingress}/v2/open/app/tags/list`)).headers.link, '', 'link always set (#36616)');
  const upstreamMissing = await call('GET', `${ingress}/v2/missing/manifests/latest`);
  t.equal(upstreamMissing.status, 404);
  t.match(upstreamMissing.text, /MANIFEST_UNKNOWN/, 'the registry\'s own error passes through');
  const oldPulp = await call('GET', `${ingress}/v2/old/pulp/manifests/latest`);
  t.equal(oldPulp.status, 302, 'pulp_container < 2.28: its redirect');
  t.equal(oldPulp.headers.location, 'https://cdn.example.com/pulp/container/old/pulp/manifests/latest?validate_token=abc');
  t.equal((await call('GET', `${ingress}/v1/_ping`)).status, 200);
  const search = await call('GET', `${ingress}/v1/search?q=app`);
  t.strictSame(JSON.parse(search.text), { num_results: 1, query: 'app', results: [{ name: 'open/app', description: '' }] });
  t.equal((await call('GET', `${ingress}/v1/search?q=app`, { headers: { 'docker-distribution-api-version': 'registry/2.0' } })).status, 404, 'v2 clients fall back to _catalog (#37705)');
});

t.test('refused: an auth-required or unknown repository is 404 NAME_UNKNOWN with a challenge; pushes are UNSUPPORTED', async (t) => {
  for (const name of ['private/app', 'no/such/repo']) {
    const refused = await call('GET', `${ingress}/v2/${name}/manifests/latest`, { headers: { authorization: 'Bearer unauthenticated' } });
    t.equal(refused.status, 404, name);
    t.equal((JSON.parse(refused.text) as { errors: Array<{ code: string }> }).errors[0]?.code, 'NAME_UNKNOWN');
    t.match(String(refused.headers['www-authenticate']), /^Bearer realm="https:\/\//);
  }
  t.equal((await call('GET', `${ingress}/v2/private/app/manifests/latest`, { headers: { authorization: 'Bearer not-a-token' } })).status, 404, 'an unknown token');
  for (const [method, path] of [['PUT', '/v2/open/app/manifests/latest'], ['POST', '/v2/open/app/blobs/uploads/'], ['PATCH', '/v2/open/app/blobs/uploads/123']] as const) {
    const push = await call(method, `${ingress}${path}`, { headers: { 'content-type': 'application/octet-stream' }, body: 'x'.repeat(1000) });
    t.equal(push.status, 404, `${method} ${path}`);
    t.equal((JSON.parse(push.text) as { errors: Array<{ code: string }> }).errors[0]?.code, 'UNSUPPORTED');
  }
  const before = registry.calls.length;
  t.equal((await call('GET', `${ingress}/v2/open/app/manifests/..%2F..%2Fetc`)).status, 404, 'a reference that is no reference never goes upstream');
  t.equal((await call('GET', `${ingress}/v2/open/app/manifests/%E0%A4%A`)).status, 400, 'a malformed escape: the router refuses it');
  t.equal((await call('GET', `${ingress}/v2/open%zz/manifests/latest`)).status, 400);
  t.equal(registry.calls.length, before);
});

let aliceToken = '';
t.test('token: Katello issues it, the gateway keeps only its hash and the user\'s repositories', async (t) => {
  katello.users.set('alice', { password: 'secret', repositories: ['private/app'] });
  katello.users.set('bob', { password: 'hunter2', repositories: [] });
  const issued = await call('GET', `${ingress}/v2/token?account=alice&scope=repository:private/app:pull&service=x`, { headers: { authorization: basic('alice', 'secret') } });
  t.equal(issued.status, 200);
  aliceToken = (JSON.parse(issued.text) as { token: string }).token;
  t.equal(katello.issued.get(aliceToken), 'alice');
  const tokenCall = katello.calls.find((c) => c.url.startsWith('/v2/token'));
  t.equal(tokenCall?.headers.authorization, basic('alice', 'secret'), 'the Basic credentials reach Katello');
  t.strictSame([...new URL(tokenCall?.url ?? '', 'http://x').searchParams.keys()].sort(), ['account', 'scope'], 'only scope and account');
  const bearer = { authorization: `Bearer ${aliceToken}` };
  t.equal((await call('GET', `${ingress}/v2/private/app/manifests/latest`, { headers: bearer })).status, 200);
  t.equal((await call('GET', `${ingress}/v2/`, { headers: bearer })).status, 200, '/v2/ with a live token');
  t.strictSame(JSON.parse((await call('GET', `${ingress}/v2/_catalog`, { headers: bearer })).text), { repositories: ['missing', 'old/pulp', 'open/app', 'paged', 'private/app'] });
  const bobToken = (JSON.parse((await call('GET', `${ingress}/v2/token?account=bob&scope=repository:private/app:pull`, { headers: { authorization: basic('bob', 'hunter2') } })).text) as { token: string }).token;
  t.equal((await call('GET', `${ingress}/v2/private/app/manifests/latest`, { headers: { authorization: `Bearer ${bobToken}` } })).status, 404, 'a user not mapped to it');
  t.equal((await call('GET', `${ingress}/v2/token?account=alice&scope=repository:private/app:pull`, { headers: { authorization: basic('alice', 'wrong') } })).status, 401, "Katello's refusal passes through");
  t.strictSame(JSON.parse((await call('GET', `${control}/container_gateway/users`, { cert: foremanCert })).text), { users: ['alice', 'bob'] });
  // bob's own credentials, alice's name: the token would be filed under alice, her repositories replaced with bob's.
  const tokenCalls = katello.calls.filter((c) => c.url.startsWith('/v2/token')).length;
  const posing = await call('GET', `${ingress}/v2/token?account=alice&scope=repository:private/app:pull`, { headers: { authorization: basic('bob', 'hunter2') } });
  t.equal(posing.status, 401, 'an account that is not the login of the credentials');
  t.ok(posing.headers['www-authenticate'], 'with the challenge');
  t.equal(katello.calls.filter((c) => c.url.startsWith('/v2/token')).length, tokenCalls, 'Katello is not asked');
  t.equal((await call('GET', `${ingress}/v2/private/app/manifests/latest`, { headers: bearer })).status, 200, "alice's token still reaches her repository");
  t.equal((await call('GET', `${ingress}/v2/token?account=ALICE&scope=repository:private/app:pull`, { headers: { authorization: basic('alice', 'secret') } })).status, 200, 'the same login in another case');
  // Neither key nor value under the prefix holds the token itself; its SHA-256 is there.
  const redis = new Redis(REDIS_URL);
  try {
    const keys = await redis.keys(`${prefix}:container-gateway:*`);
    const values = await Promise.all(keys.map(async (key) => ((await redis.type(key)) === 'string' ? ((await redis.get(key)) ?? '') : JSON.stringify(await redis.hgetall(key).catch(() => ({}))))));
    t.notOk([...keys, ...values].some((text) => text.includes(aliceToken)), 'the raw token is stored nowhere');
    t.ok(keys.includes(`${prefix}:container-gateway:token:${createHash('sha256').update(aliceToken).digest('hex')}`));
  } finally {
    redis.disconnect();
  }
});

t.test('token expiry: a token stops working when Katello said it expires', async (t) => {
  katello.users.set('carol', { password: 'pw', repositories: ['private/app'], expiresIn: 2 });
  const token = (JSON.parse((await call('GET', `${ingress}/v2/token?account=carol&scope=repository:private/app:pull`, { headers: { authorization: basic('carol', 'pw') } })).text) as { token: string }).token;
  const pull = () => call('GET', `${ingress}/v2/private/app/manifests/latest`, { headers: { authorization: `Bearer ${token}` } });
  const issuedAt = Date.now();
  t.equal((await pull()).status, 200, 'live');
  await waitFor(async () => (await pull()).status === 404, { timeoutMs: 6000, what: 'the token to expire' });
  // Katello's issued_at carries no zone: read as local time the expiry would be off by the offset.
  t.ok(Date.now() - issuedAt < 5000, 'expired about when Katello said, not a time zone later');
});

t.test('host certificate: mapped, not mapped, unknown host looked up at Katello', async (t) => {
  t.equal((await call('GET', `${ingress}/v2/private/app/manifests/latest`, { cert: hostCert })).status, 200, 'a mapped host');
  t.equal((await call('GET', `${ingress}/v2/open/app/manifests/latest`, { cert: strangerHostCert })).status, 200, 'any host, open repository');
  const unmapped = await call('GET', `${ingress}/v2/private/app/manifests/latest`, { cert: strangerHostCert });
  t.equal(unmapped.status, 401, 'a host certificate is refused with 401, as the plugin does');
  t.ok(unmapped.headers['www-authenticate']);
  t.strictSame(JSON.parse((await call('GET', `${ingress}/v2/_catalog`, { cert: hostCert })).text), { repositories: ['missing', 'old/pulp', 'open/app', 'paged', 'private/app'] });
  t.equal((await call('GET', `${ingress}/v2/`, { cert: hostCert })).status, 200);
  katello.hosts.set('aaaaaaaa-2222-3333-4444-555555555555', ['private/app']);
  t.equal((await call('GET', `${ingress}/v2/private/app/manifests/latest`, { cert: lateHostCert })).status, 200, 'registered after the last sync');
  const lookup = katello.calls.find((c) => c.url === '/v2/_catalog' && c.headers.hostuuid === 'aaaaaaaa-2222-3333-4444-555555555555');
  t.ok(lookup, 'asked with the HostUUID header');
  t.equal(lookup?.headers.authorization, undefined);
  const lookups = katello.calls.length;
  t.equal((await call('GET', `${ingress}/v2/private/app/manifests/latest`, { cert: lateHostCert })).status, 200);
  t.equal(katello.calls.length, lookups, 'asked once, then known');
  const index = await call('GET', `${ingress}/index/static?label:org.flatpak.ref:exists=1&tag=latest`, { cert: hostCert });
  t.strictSame((JSON.parse(index.text) as { Results: unknown[] }).Results, [{ Name: 'open/app' }, { Name: 'private/app' }], 'the flatpak index narrowed to the host');
  const anonymousIndex = await call('GET', `${ingress}/index/static?tag=latest`);
  t.strictSame((JSON.parse(anonymousIndex.text) as { Results: unknown[] }).Results, [{ Name: 'open/app' }], 'and to the open repositories for anyone else');
  t.ok(registry.calls.some((c) => c.url === '/registry/index/static?label%3Aorg.flatpak.ref%3Aexists=1&tag=latest'), 'the query went upstream re-encoded');
});

t.test('blobs: a redirect, never bytes; the upstream\'s redirect gets the client endpoint', async (t) => {
  const digest = `sha256:${'a'.repeat(64)}`;
  const direct = await call('GET', `${ingress}/v2/open/app/blobs/${digest}`);
  t.equal(direct.status, 302);
  t.equal(direct.headers.location, `https://cdn.example.com/registry/v2/open/app/blobs/${digest}`, 'a registry that serves the bytes: its own blob URL at the client endpoint');
  t.equal(direct.text, '');
  t.equal((await call('HEAD', `${ingress}/v2/open/app/blobs/${digest}`)).status, 302);
  t.equal(registry.blobBytesSent, 0, 'the registry never sent a blob byte to the gateway');
  t.ok(registry.calls.filter((c) => c.url.includes('/blobs/')).every((c) => c.method === 'HEAD'), 'the gateway only asks HEAD of blobs');
  registry.blobsByRedirect = true;
  const pulp = await call('GET', `${ingress}/v2/open/app/blobs/${digest}`);
  t.equal(pulp.headers.location, `https://cdn.example.com/pulp/container/open/app/blobs/${digest}?validate_token=t`, 'Pulp\'s content-app redirect, host swapped (#38304)');
  registry.blobsByRedirect = false;
  const missing = await call('GET', `${ingress}/v2/open/app/blobs/sha256:${'0'.repeat(64)}`);
  t.equal(missing.status, 404);
  t.match(missing.text, /BLOB_UNKNOWN/);
  t.equal((await call('GET', `${ingress}/v2/private/app/blobs/${digest}`)).status, 404, 'the same auth as manifests');
});

t.test('/v2/features lists container_gateway, running, with no settings', async (t) => {
  const features = JSON.parse((await call('GET', `${control}/v2/features`, { cert: foremanCert })).text) as Record<string, { state: string; settings: unknown; capabilities: unknown }>;
  t.equal(features.container_gateway?.state, 'running');
  t.strictSame(features.container_gateway?.settings, {});
  t.strictSame(features.container_gateway?.capabilities, []);
});

t.test('whole-table replace under concurrent pulls: every reader sees the old table or the new one', async (t) => {
  const tableA = Array.from({ length: 300 }, (_, i) => `a/repo${i}`);
  const tableB = Array.from({ length: 300 }, (_, i) => `b/repo${i}`);
  const asPairs = (names: string[]) => repositoryPairs([...names.map((name): [string, boolean] => [name, false]), ['private/app', true], ['open/app', false]]);
  t.equal((await push('repository_list', asPairs(tableA))).status, 200);
  const expectA = JSON.stringify([...tableA, 'open/app'].sort());
  const expectB = JSON.stringify([...tableB, 'open/app'].sort());
  let pushing = true;
  const pusher = (async () => {
    for (let round = 0; round < 10; round += 1) t.equal((await push('repository_list', asPairs(round % 2 === 0 ? tableB : tableA))).status, 200);
    pushing = false;
  })();
  const seen = { a: 0, b: 0, mixed: 0, pulls: 0, failedPulls: 0 };
  const reader = async (): Promise<void> => {
    while (pushing) {
      const [catalog, pull] = await Promise.all([call('GET', `${ingress}/v2/_catalog`, { headers: { authorization: 'Bearer unauthenticated' } }), call('GET', `${ingress}/v2/open/app/manifests/latest`, { headers: { authorization: `Bearer ${aliceToken}` } })]);
      const names = JSON.stringify((JSON.parse(catalog.text) as { repositories: string[] }).repositories);
      if (names === expectA) seen.a += 1;
      else if (names === expectB) seen.b += 1;
      else seen.mixed += 1;
      seen.pulls += 1;
      if (pull.status !== 200) seen.failedPulls += 1;
    }
  };
  await Promise.all([pusher, reader(), reader(), reader()]);
  t.equal(seen.mixed, 0, `no reader saw a half-built table (${JSON.stringify(seen)})`);
  t.equal(seen.failedPulls, 0, 'a repository in both tables never disappears');
  t.ok(seen.a + seen.b > 0);
  // Nothing of the builds is left behind.
  const redis = new Redis(REDIS_URL);
  try {
    t.strictSame(await redis.keys(`${prefix}:container-gateway:*:build:*`), []);
  } finally {
    redis.disconnect();
  }
  t.equal((await push('repository_list', repositoryPairs([['open/app', false], ['private/app', true]]))).status, 200);
});

t.test('with Katello down, live tokens, known hosts and open repositories still pull', async (t) => {
  await katello.stop();
  t.equal((await call('GET', `${ingress}/v2/private/app/manifests/latest`, { headers: { authorization: `Bearer ${aliceToken}` } })).status, 200, 'a live token');
  t.equal((await call('GET', `${ingress}/v2/private/app/manifests/latest`, { cert: hostCert })).status, 200, 'a known host');
  const token = await call('GET', `${ingress}/v2/token?scope=repository:open/app:pull`);
  t.equal((JSON.parse(token.text) as { token: string }).token, 'unauthenticated', 'open repositories get their token without Katello');
  t.equal((await call('GET', `${ingress}/v2/open/app/manifests/latest`, { headers: { authorization: 'Bearer unauthenticated' } })).status, 200);
  const login = await call('GET', `${ingress}/v2/token?account=alice&scope=repository:private/app:pull`, { headers: { authorization: basic('alice', 'secret') } });
  t.equal(login.status, 502, 'a new token needs Katello');
  t.equal(login.headers['docker-distribution-api-version'], 'registry/2.0');
});

t.test('no gateway worker: 503 with Retry-After at once, in the registry error format', async (t) => {
  const alone = await startHubFor(t, testConfig(usePrefix(t), katello.url, { foreman: {} }), 'ingress');
  const started = Date.now();
  const response = await fetch(`${alone.ingressUrl}/v2/open/app/manifests/latest`);
  t.equal(response.status, 503);
  t.ok(Date.now() - started < 3000, 'without waiting out the RPC timeout');
  t.equal(response.headers.get('retry-after'), '5');
  t.equal(response.headers.get('docker-distribution-api-version'), 'registry/2.0');
  t.match(await response.json(), { errors: [{ code: 'UNAVAILABLE', detail: { code: 'PROXYHUB_RPC_NO_WORKER' } }] });
});
