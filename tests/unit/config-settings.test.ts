/**
 * Each configuration key is declared once, in hub/config/schema.ts (`setting()`): the loader's
 * variables, the environment the tests give a spawned hub and the README table all come from
 * that declaration, and this file checks that they agree with it.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { z } from 'zod';
import { REGENERATE_COMMAND, renderConfigTable, shownDefault, TABLE_END, TABLE_START } from '../../hub/config/config-table.ts';
import { loadConfig } from '../../hub/config/load.ts';
import { configSchema, type ConfigInput } from '../../hub/config/schema.ts';
import { setting } from '../../hub/config/setting.ts';
import { collectSettings, configToEnvironment, environmentVariables, settings, valueAt } from '../../hub/config/settings.ts';
import { hubEnvironment, testConfig, testPrefix } from '../helpers/hub-harness.ts';

const README = fileURLToPath(new URL('../../README.md', import.meta.url));
const defaults = configSchema.parse({});

t.test('the README configuration table is the one the schema generates', async (t) => {
  const readme = readFileSync(README, 'utf8');
  const start = readme.indexOf(TABLE_START);
  const end = readme.indexOf(TABLE_END);
  t.ok(start >= 0 && end > start, 'README.md marks the generated table');
  t.equal(readme.slice(start + TABLE_START.length, end).trim(), renderConfigTable(), `README.md's configuration table differs from hub/config/schema.ts: run ${REGENERATE_COMMAND}`);
});

t.test('every key declares its own PROXYHUB_ variable', async (t) => {
  t.ok(settings.length > 0);
  t.equal(new Set(settings.map((s) => s.env)).size, settings.length, 'no variable is declared twice');
  for (const { env, path } of settings) t.match(env, /^PROXYHUB_[A-Z0-9_]+$/, path);
  t.equal(environmentVariables.PROXYHUB_TRUSTED_HOSTS, 'trustedHosts');
  t.equal(environmentVariables.PROXYHUB_FRONT_PROXY_IDENTITY_HEADER, 'frontProxy.identityHeader');
  const undeclared = z.strictObject({ nested: z.strictObject({ declared: setting(z.string().optional(), { env: 'PROXYHUB_X', doc: 'x' }), forgotten: z.number().default(1) }).prefault({}) });
  t.throws(() => collectSettings(undeclared), /config key nested\.forgotten declares no environment variable: wrap it in setting\(\)/);
});

t.test('the table shows the applied default; declared words only where none can be shown', async (t) => {
  // proxyName's default is the host name, computed at start.
  const computed = new Set(['proxyName']);
  for (const s of settings) {
    if (s.shownDefault !== undefined && !computed.has(s.path)) t.equal(valueAt(defaults, s.path), undefined, `${s.path} declares shownDefault although the schema applies a default`);
  }
  const features = settings.find((s) => s.path === 'features');
  t.equal(features && shownDefault(features, defaults.features), '`openscap,registration,reports,templates`', 'the features default as applied');
  const deadline = settings.find((s) => s.path === 'worker.retryDeadlineMs');
  t.equal(deadline && shownDefault(deadline, defaults.worker.retryDeadlineMs), '`86400000` (24 h)');
});

t.test('configToEnvironment gives loadConfig back the same configuration', async (t) => {
  const input: ConfigInput = {
    transport: 'amqp10',
    amqpUrl: 'amqp10://broker.example.com:5672',
    foreman: { url: 'https://foreman.example.com', proxyId: 7, apiUser: 'admin', apiToken: 'secret', timeoutMs: 1234 },
    ingress: { host: '0.0.0.0', port: 0 },
    allowInsecure: true,
    devOpenControl: true,
    devAnonymousUploads: true,
    trustedHosts: [],
    relayClients: ['puppet.example.com', 'ansible.example.com'],
    frontProxy: { addresses: ['10.0.0.1'], identityHeader: 'X-Client-CN' },
    features: ['reports'],
    rex: { mode: 'pull-mqtt', pullUrl: 'https://proxy.example.com:8443' },
    limits: { maxEventLoopUtilization: 0.5 },
    worker: { retryDelaysMs: [100, 250] },
  };
  const config = configSchema.parse(input);
  const environment = configToEnvironment(config);
  t.strictSame(Object.keys(environment).sort(), Object.keys(environmentVariables).sort(), 'one entry per declared variable');
  t.equal(environment.PROXYHUB_TRUSTED_HOSTS, '', 'an empty trusted_hosts is written as PROXYHUB_TRUSTED_HOSTS=');
  t.equal(environment.PROXYHUB_TLS_CERT, undefined, 'an unset key stays unset');
  t.strictSame(loadConfig(environment), config);
  t.throws(() => configToEnvironment(configSchema.parse({ features: [] })), /features: an empty list cannot be written as PROXYHUB_FEATURES/);
});

t.test('a spawned hub gets exactly the test configuration, and no stray variable of an unset key', async (t) => {
  const inherited = process.env.PROXYHUB_TLS_CERT;
  process.env.PROXYHUB_TLS_CERT = '/from/the/developer/shell.pem';
  t.teardown(() => {
    if (inherited === undefined) delete process.env.PROXYHUB_TLS_CERT;
    else process.env.PROXYHUB_TLS_CERT = inherited;
  });
  const config = testConfig(testPrefix(), 'https://foreman.example.com', { trustedHosts: [], foreman: { url: 'https://foreman.example.com', timeoutMs: 4321 } });
  const environment = hubEnvironment(config);
  t.equal(environment.PATH, process.env.PATH, 'the rest of the environment is passed through');
  t.equal(environment.PROXYHUB_LOG_LEVEL, process.env.PROXYHUB_TEST_LOG ?? 'info', 'the child logs, so that spawnHub sees it start');
  const { logLevel: _spawned, ...spawned } = loadConfig(environment);
  const { logLevel: _tested, ...expected } = config;
  t.strictSame(spawned, expected);
});
