/**
 * Configuration: `loadConfig(env)` (defaults, variables, the YAML file, one error for every
 * problem, a frozen result) and the role rules that refuse unsafe deployments. Every call gets an
 * explicit env object; process.env is never read.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { isProxyhubError } from '../../contracts/errors.ts';
import { loadConfig } from '../../hub/config/load.ts';
import { deploymentProblems, isLoopback, parseRoles } from '../../hub/config/roles.ts';
import { configSchema, type Config, type ConfigInput } from '../../hub/config/schema.ts';

const makeEnv = (overrides: Record<string, string> = {}): NodeJS.ProcessEnv => ({ ...overrides });

/** A valid config for every role: loopback listeners, no TLS, a Foreman URL. */
const makeConfig = (overrides: ConfigInput = {}): Config => configSchema.parse({ foreman: { url: 'https://foreman.example.com' }, ...overrides });

/** What `fn` threw, as code and message (undefined when it did not throw). */
function thrown(fn: () => unknown): { code: unknown; message: string } | undefined {
  try {
    fn();
  } catch (error) {
    return { code: isProxyhubError(error) ? error.code : undefined, message: (error as Error).message };
  }
  return undefined;
}

t.test('defaults with an empty environment', async (t) => {
  const config = loadConfig(makeEnv());
  t.equal(config.amqpUrl, 'amqp://127.0.0.1:5672', 'no credentials in the default (amqplib then logs in as the trial user)');
  t.equal(config.redisUrl, 'redis://127.0.0.1:6379');
  t.equal(config.mqttUrl, 'mqtt://127.0.0.1:1883');
  t.equal(config.prefix, 'proxyhub');
  t.equal(config.proxyName, hostname());
  t.strictSame(config.ingress, { host: '127.0.0.1', port: 8443 });
  t.strictSame(config.control, { host: '127.0.0.1', port: 9090 });
  t.equal(config.allowInsecure, false);
  t.equal(config.dataDir, './var');
  t.equal(config.foreman.url, undefined, 'no Foreman URL by default');
  t.equal(config.trustedHosts, undefined);
  t.strictSame(config.publish, { confirmTimeoutMs: 1000, maxUnconfirmed: 2000 });
  t.strictSame(config.worker.retryDelaysMs, [1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 120_000, 300_000]);
});

t.test('environment variables override nested keys', async (t) => {
  const config = loadConfig(
    makeEnv({
      PROXYHUB_INGRESS_PORT: '18443',
      PROXYHUB_CONTROL_HOST: '10.0.0.5',
      PROXYHUB_RETRY_DELAYS_MS: '100, 250,1000',
      PROXYHUB_ALLOW_INSECURE: '1',
      PROXYHUB_TRUSTED_HOSTS: 'foreman.example.com, , other.example.com',
      PROXYHUB_FOREMAN_URL: 'https://foreman.example.com',
    }),
  );
  t.strictSame(config.ingress, { host: '127.0.0.1', port: 18443 }, 'port coerced to a number, host kept');
  t.strictSame(config.control, { host: '10.0.0.5', port: 9090 });
  t.strictSame(config.worker.retryDelaysMs, [100, 250, 1000], 'comma list of numbers');
  t.equal(config.worker.prefetch, 32, 'siblings keep their defaults');
  t.equal(config.allowInsecure, true);
  t.strictSame(config.trustedHosts, ['foreman.example.com', 'other.example.com'], 'empty entries dropped');
  t.equal(config.foreman.url, 'https://foreman.example.com');
});

t.test('boolean variables', async (t) => {
  for (const value of ['1', 'true', 'YES', 'on']) t.equal(loadConfig(makeEnv({ PROXYHUB_ALLOW_INSECURE: value })).allowInsecure, true, `"${value}"`);
  for (const value of ['0', 'false', 'no']) t.equal(loadConfig(makeEnv({ PROXYHUB_ALLOW_INSECURE: value })).allowInsecure, false, `"${value}"`);
});

t.test('an empty variable counts as unset', async (t) => {
  t.equal(loadConfig(makeEnv({ PROXYHUB_INGRESS_PORT: '', PROXYHUB_PREFIX: '' })).ingress.port, 8443);
});

t.test('YAML file named by PROXYHUB_CONFIG, with the environment on top', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'proxyhub-config-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'proxyhub.yaml');
  writeFileSync(file, ['prefix: fromfile', 'ingress:', '  host: 0.0.0.0', '  port: 1000', 'worker:', '  retryDelaysMs: [50, 500]', 'foreman:', '  url: https://file.example.com', ''].join('\n'));

  const fromFile = loadConfig(makeEnv({ PROXYHUB_CONFIG: file }));
  t.equal(fromFile.prefix, 'fromfile');
  t.strictSame(fromFile.ingress, { host: '0.0.0.0', port: 1000 });
  t.strictSame(fromFile.worker.retryDelaysMs, [50, 500]);

  const overridden = loadConfig(makeEnv({ PROXYHUB_CONFIG: file, PROXYHUB_INGRESS_PORT: '2000', PROXYHUB_FOREMAN_URL: 'https://env.example.com' }));
  t.strictSame(overridden.ingress, { host: '0.0.0.0', port: 2000 }, 'env wins for the port, the file keeps the host');
  t.equal(overridden.foreman.url, 'https://env.example.com');
  t.equal(overridden.prefix, 'fromfile');

  const empty = join(dir, 'empty.yaml');
  writeFileSync(empty, '');
  t.equal(loadConfig(makeEnv({ PROXYHUB_CONFIG: empty })).prefix, 'proxyhub', 'an empty file means defaults');

  const list = join(dir, 'list.yaml');
  writeFileSync(list, '- a\n- b\n');
  t.match(thrown(() => loadConfig(makeEnv({ PROXYHUB_CONFIG: list }))), { code: 'PROXYHUB_CONFIG_INVALID', message: /must hold a YAML mapping/ });
  t.match(thrown(() => loadConfig(makeEnv({ PROXYHUB_CONFIG: join(dir, 'missing.yaml') }))), { code: 'PROXYHUB_CONFIG_INVALID', message: /cannot read config file .*missing\.yaml/ });
});

t.test('one error lists every problem with its variable', async (t) => {
  const error = thrown(() => loadConfig(makeEnv({ PROXYHUB_INGRESS_PORT: '99999', PROXYHUB_AMQP_URL: 'http://broker', PROXYHUB_LOG_LEVEL: 'loud' })));
  t.equal(error?.code, 'PROXYHUB_CONFIG_INVALID');
  const message = error?.message ?? '';
  t.match(message, /ingress\.port \(PROXYHUB_INGRESS_PORT\)/);
  t.match(message, /amqpUrl \(PROXYHUB_AMQP_URL\)/);
  t.match(message, /logLevel \(PROXYHUB_LOG_LEVEL\)/);
});

t.test('a bad entry in a list variable names the variable', async (t) => {
  const error = thrown(() => loadConfig(makeEnv({ PROXYHUB_RETRY_DELAYS_MS: '100,soon', PROXYHUB_CONTROL_PORT: 'abc' })));
  t.equal(error?.code, 'PROXYHUB_CONFIG_INVALID');
  const message = error?.message ?? '';
  t.match(message, /control\.port \(PROXYHUB_CONTROL_PORT\)/);
  t.match(message, /PROXYHUB_RETRY_DELAYS_MS/, 'the retry delay problem names its variable');
});

t.test('the result is deeply frozen', async (t) => {
  const config = loadConfig(makeEnv({ PROXYHUB_TRUSTED_HOSTS: 'a.example.com' }));
  t.ok(Object.isFrozen(config));
  t.ok(Object.isFrozen(config.ingress));
  t.ok(Object.isFrozen(config.worker.retryDelaysMs));
  t.ok(Object.isFrozen(config.trustedHosts));
  t.throws(() => {
    (config.ingress as { port: number }).port = 1;
  }, TypeError);
  t.throws(() => config.worker.retryDelaysMs.push(1), TypeError);
});

t.test('parseRoles', async (t) => {
  t.strictSame(parseRoles('all'), { ingress: true, control: true, workers: ['facts', 'reports', 'openscap', 'rhsm', 'registration', 'container_gateway', 'rex'] });
  t.strictSame(parseRoles(' ingress , worker:facts,worker:facts '), { ingress: true, control: false, workers: ['facts'] }, 'comma list, trimmed, deduplicated');
  t.strictSame(parseRoles('control,worker:reports'), { ingress: false, control: true, workers: ['reports'] });
  t.ok(Object.isFrozen(parseRoles('all').workers));
  t.throws(() => parseRoles('worker:dns'), /unknown worker feature "dns"/);
  t.throws(() => parseRoles('ingress,frontend'), /unknown role "frontend"/);
  t.throws(() => parseRoles(' , '), /no role given/);
});

t.test('deploymentProblems accepts a safe configuration', async (t) => {
  t.strictSame(deploymentProblems(makeConfig(), parseRoles('all')), []);
  t.strictSame(deploymentProblems(makeConfig({ foreman: {} }), parseRoles('ingress')), [], 'ingress alone needs no Foreman');
  t.strictSame(deploymentProblems(makeConfig({ ingress: { host: '0.0.0.0' } }), parseRoles('control,worker:facts')), [], 'a listener not started is not checked');
});

t.test('deploymentProblems refuses plain HTTP beyond loopback, and an open control plane', async (t) => {
  const roles = parseRoles('all');
  const exposed = { ingress: { host: '0.0.0.0' }, control: { host: '192.0.2.10' } };
  const problems = deploymentProblems(makeConfig(exposed), roles);
  t.equal(problems.length, 3);
  t.match(problems[0], /ingress listener on 0\.0\.0\.0 .*plain HTTP/);
  t.match(problems[1], /control listener on 192\.0\.2\.10 would speak plain HTTP/);
  t.match(problems[2], /control listener on 192\.0\.2\.10 has no PROXYHUB_TRUSTED_HOSTS/);
  t.match(
    deploymentProblems(makeConfig({ ...exposed, allowInsecure: true, trustedHosts: ['foreman.example.com'] }), roles),
    [/ingress .* no PROXYHUB_FRONT_PROXIES/, /control listener on 192\.0\.2\.10 would speak plain HTTP beyond loopback \(PROXYHUB_ALLOW_INSECURE does not apply/],
    'PROXYHUB_ALLOW_INSECURE=1 opens neither the control listener nor an ingress that cannot tell hosts apart',
  );
  t.strictSame(deploymentProblems(makeConfig({ ingress: { host: '0.0.0.0' }, allowInsecure: true, frontProxy: { addresses: ['10.0.0.5'] } }), roles), [], 'plain HTTP ingress behind a listed front proxy');
  // Any readable file stands in for the PEM files: deploymentProblems checks they can be read.
  const readable = fileURLToPath(new URL('../../package.json', import.meta.url));
  t.strictSame(deploymentProblems(makeConfig({ ...exposed, tls: { cert: readable, key: readable, ca: readable }, trustedHosts: ['foreman.example.com'] }), roles), [], 'TLS configured and trusted_hosts listed');
  t.match(deploymentProblems(makeConfig({ ...exposed, tls: { cert: readable, key: readable, ca: readable }, trustedHosts: [] }), roles), [/has no PROXYHUB_TRUSTED_HOSTS/], 'an empty list beyond loopback is refused too');
  t.match(deploymentProblems(makeConfig({ ...exposed, tls: { cert: readable, key: readable, ca: readable }, trustedHosts: ['f'], devOpenControl: true }), roles), [/PROXYHUB_DEV_OPEN_CONTROL is for a loopback-only control listener/]);
  t.match(deploymentProblems(makeConfig({ ...exposed, tls: { cert: readable, key: readable, ca: readable }, trustedHosts: ['f'], devAnonymousUploads: true }), roles), [/PROXYHUB_DEV_ANONYMOUS_UPLOADS is for a loopback-only plain-HTTP ingress/]);
  t.strictSame(deploymentProblems(makeConfig({ devAnonymousUploads: true }), roles), [], 'the upload development flag on a loopback ingress');
  t.match(deploymentProblems(makeConfig({ ...exposed, tls: { cert: readable, key: readable } }), roles), [/TLS without PROXYHUB_TLS_CA/], 'TLS needs a CA to verify clients');
  t.match(deploymentProblems(makeConfig({ tls: { cert: '/nonexistent/c.pem', key: readable, ca: readable } }), roles), [/PROXYHUB_TLS_CERT \/nonexistent\/c\.pem cannot be read/]);
  t.match(deploymentProblems(makeConfig({ tls: { cert: readable } }), roles), [/TLS_CERT and PROXYHUB_TLS_KEY must be set together/]);
});

t.test('deploymentProblems refuses Foreman settings on an ingress-only process', async (t) => {
  t.match(deploymentProblems(makeConfig(), parseRoles('ingress')), [/ingress-only process must not be given Foreman settings/]);
  t.match(deploymentProblems(makeConfig({ foreman: { cert: 'proxy.pem' } }), parseRoles('ingress')), [/FOREMAN_CERT and PROXYHUB_FOREMAN_KEY must be set together/, /ingress-only/]);
});

t.test('deploymentProblems refuses workers and control without a Foreman URL', async (t) => {
  t.match(deploymentProblems(makeConfig({ foreman: {} }), parseRoles('worker:facts')), [/need PROXYHUB_FOREMAN_URL/]);
  t.match(deploymentProblems(makeConfig({ foreman: {} }), parseRoles('control')), [/need PROXYHUB_FOREMAN_URL/]);
});

t.test('deploymentProblems refuses one port for ingress and control', async (t) => {
  const samePort = makeConfig({ ingress: { port: 9000 }, control: { port: 9000 } });
  t.match(deploymentProblems(samePort, parseRoles('all')), [/different ports/]);
  t.strictSame(deploymentProblems(samePort, parseRoles('ingress,worker:facts')), [], 'only one listener started');
  t.strictSame(deploymentProblems(makeConfig({ ingress: { port: 0 }, control: { port: 0 } }), parseRoles('all')), [], 'port 0 picks two free ports');
});

t.test('isLoopback', async (t) => {
  for (const host of ['localhost', '127.0.0.1', '127.8.9.10', '::1']) t.equal(isLoopback(host), true, host);
  for (const host of ['0.0.0.0', '::', '10.0.0.1', '128.0.0.1', 'example.com', '127.example.com', '']) t.equal(isLoopback(host), false, host || '(empty)');
});

t.test('an empty PROXYHUB_TRUSTED_HOSTS is the smart-proxy’s [] (nobody), not unset (everybody)', async (t) => {
  t.same(loadConfig({ PROXYHUB_TRUSTED_HOSTS: '' }).trustedHosts, []);
  t.equal(loadConfig({}).trustedHosts, undefined);
  t.same(loadConfig({ PROXYHUB_TRUSTED_HOSTS: 'a.example.com, B.example.com' }).trustedHosts, ['a.example.com', 'B.example.com']);
});

t.test('deploymentProblems refuses a request timeout that would cut a registration short', async (t) => {
  t.match(deploymentProblems(makeConfig({ rpcTimeoutMs: 30_000, limits: { requestTimeoutMs: 20_000 } }), parseRoles('ingress,control,worker:facts')), [/PROXYHUB_REQUEST_TIMEOUT_MS \(20000\) must exceed PROXYHUB_RPC_TIMEOUT_MS \(30000\)/]);
});

t.test('capability settings: expected features, heartbeat bound, Foreman refresh push', async (t) => {
  const defaults = loadConfig(makeEnv());
  t.strictSame(defaults.features, ['openscap', 'registration', 'reports', 'templates']);
  t.equal(defaults.capabilities.heartbeatMs, 2000);
  t.equal(defaults.foreman.proxyId, undefined, 'no push unless a proxy id is given');
  const set = loadConfig(makeEnv({ PROXYHUB_FEATURES: 'openscap, script', PROXYHUB_HEARTBEAT_MS: '500', PROXYHUB_FOREMAN_PROXY_ID: '3', PROXYHUB_FOREMAN_API_USER: 'admin', PROXYHUB_FOREMAN_API_TOKEN: 'secret', PROXYHUB_REFRESH_DEBOUNCE_MS: '0' }));
  t.strictSame(set.features, ['openscap', 'script']);
  t.equal(set.capabilities.heartbeatMs, 500);
  t.equal(set.foreman.proxyId, 3);
  t.equal(set.capabilities.refreshDebounceMs, 0);
  t.throws(() => loadConfig(makeEnv({ PROXYHUB_FEATURES: 'facts' })), /features\.0 \(PROXYHUB_FEATURES\)/, 'facts is not a smart-proxy feature');
  t.throws(() => loadConfig(makeEnv({ PROXYHUB_HEARTBEAT_MS: '5000' })), /PROXYHUB_HEARTBEAT_MS/, 'a heartbeat that would put expiry past 10 s is refused');
});

t.test('Foreman API credentials for the refresh push come in pairs and never to an ingress', async (t) => {
  const control = parseRoles('control');
  t.match(deploymentProblems(makeConfig({ foreman: { url: 'https://foreman.example.com', apiUser: 'admin' } }), control), [/PROXYHUB_FOREMAN_API_USER and PROXYHUB_FOREMAN_API_TOKEN must be set together/]);
  t.strictSame(deploymentProblems(makeConfig({ foreman: { url: 'https://foreman.example.com', proxyId: 1, apiUser: 'admin', apiToken: 'token' } }), control), []);
  const ingressOnly = configSchema.parse({ foreman: { apiUser: 'admin', apiToken: 'token' } });
  t.match(deploymentProblems(ingressOnly, parseRoles('ingress')), [/must not be given Foreman API credentials/]);
});

t.test('PROXYHUB_AMQP_URL takes the nodes of a cluster as a list', async (t) => {
  const nodes = ' amqp://u:secret@n1:5672/%2F , amqp://u:secret@n2:5672/%2F,,amqp://u:secret@n3:5672/%2F ';
  t.equal(loadConfig(makeEnv({ PROXYHUB_AMQP_URL: nodes })).amqpUrl, 'amqp://u:secret@n1:5672/%2F,amqp://u:secret@n2:5672/%2F,amqp://u:secret@n3:5672/%2F', 'items trimmed, blanks dropped');
  t.equal(loadConfig(makeEnv({ PROXYHUB_AMQP_URL: 'amqp10://n1,amqp10://n2' })).amqpUrl, 'amqp10://n1,amqp10://n2', 'AMQP 1.0 nodes too');

  const bad = thrown(() => loadConfig(makeEnv({ PROXYHUB_AMQP_URL: 'amqp://u:secret@n1,http://u:secret@n2' })));
  t.equal(bad?.code, 'PROXYHUB_CONFIG_INVALID');
  t.match(bad?.message, /amqpUrl \(PROXYHUB_AMQP_URL\): item 2 \(http:\/\/\*\*\*@n2\) must be an amqp:\/\//, 'the bad item is named');
  t.notMatch(bad?.message, /secret/, 'without its password');

  const mixed = thrown(() => loadConfig(makeEnv({ PROXYHUB_AMQP_URL: 'amqp://n1,amqp10://n2' })));
  t.match(mixed?.message, /mixes amqp10:\/\/ and amqp:\/\/ nodes/);
  t.match(thrown(() => loadConfig(makeEnv({ PROXYHUB_AMQP_URL: ' , ' })))?.message, /at least one broker URL/, 'a list of blanks is no broker');
});
