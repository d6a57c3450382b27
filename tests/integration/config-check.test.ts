/**
 * `proxyhub config check` refuses each unsafe or incomplete configuration with its reason, and
 * prints the plan of the deployments the README describes.
 */
import t from 'tap';
import { runCli } from '../helpers/cli.ts';
import { testConfig, testPrefix } from '../helpers/hub-harness.ts';
import { createTestPki } from '../helpers/pki.ts';

const pki = createTestPki();
t.teardown(() => pki.remove());
// Each case starts the real command (about a second of CPU): four at a time.
t.jobs = 4;
const config = testConfig(testPrefix(), 'https://foreman.example.com', { devOpenControl: false, devAnonymousUploads: false });
// hubEnvironment sets ports 0 and a Foreman URL; each case states what differs.
const check = (roles: string, env: NodeJS.ProcessEnv) => runCli(config, ['config', 'check', '--role', roles], env);
const tlsEnv = { PROXYHUB_TLS_CERT: pki.server.cert, PROXYHUB_TLS_KEY: pki.server.key, PROXYHUB_TLS_CA: pki.caCert };

const refused: Array<{ name: string; roles: string; env: NodeJS.ProcessEnv; reason: RegExp }> = [
  { name: 'ingress beyond loopback without TLS', roles: 'ingress', env: { PROXYHUB_FOREMAN_URL: '', PROXYHUB_INGRESS_HOST: '0.0.0.0' }, reason: /ingress listener on 0\.0\.0\.0 would speak plain HTTP/ },
  { name: 'control beyond loopback without TLS', roles: 'control', env: { PROXYHUB_CONTROL_HOST: '10.1.2.3' }, reason: /control listener on 10\.1\.2\.3 would speak plain HTTP/ },
  { name: 'control beyond loopback on plain HTTP, even with ALLOW_INSECURE', roles: 'control', env: { PROXYHUB_CONTROL_HOST: '10.1.2.3', PROXYHUB_ALLOW_INSECURE: '1', PROXYHUB_TRUSTED_HOSTS: 'foreman.example.com' }, reason: /control listener on 10\.1\.2\.3 would speak plain HTTP beyond loopback \(PROXYHUB_ALLOW_INSECURE does not apply/ },
  { name: 'control beyond loopback with TLS but no trusted_hosts', roles: 'control', env: { ...tlsEnv, PROXYHUB_CONTROL_HOST: '0.0.0.0' }, reason: /control listener on 0\.0\.0\.0 has no PROXYHUB_TRUSTED_HOSTS/ },
  { name: 'control beyond loopback with an empty trusted_hosts', roles: 'control', env: { ...tlsEnv, PROXYHUB_CONTROL_HOST: '0.0.0.0', PROXYHUB_TRUSTED_HOSTS: '' }, reason: /has no PROXYHUB_TRUSTED_HOSTS/ },
  { name: 'the development flag beyond loopback', roles: 'control', env: { ...tlsEnv, PROXYHUB_CONTROL_HOST: '0.0.0.0', PROXYHUB_TRUSTED_HOSTS: 'foreman.example.com', PROXYHUB_DEV_OPEN_CONTROL: '1' }, reason: /PROXYHUB_DEV_OPEN_CONTROL is for a loopback-only control listener/ },
  { name: 'ingress on plain HTTP beyond loopback with no front proxy to name the hosts', roles: 'ingress', env: { PROXYHUB_FOREMAN_URL: '', PROXYHUB_INGRESS_HOST: '0.0.0.0', PROXYHUB_ALLOW_INSECURE: '1' }, reason: /no PROXYHUB_FRONT_PROXIES: it could not tell one host from another/ },
  { name: 'an ingress given Foreman credentials', roles: 'ingress', env: { PROXYHUB_FOREMAN_URL: 'https://foreman.example.com' }, reason: /ingress-only process must not be given Foreman settings/ },
  { name: 'workers without a Foreman URL', roles: 'worker:facts', env: { PROXYHUB_FOREMAN_URL: '' }, reason: /need PROXYHUB_FOREMAN_URL/ },
  { name: 'TLS without a CA for client certificates', roles: 'ingress', env: { PROXYHUB_FOREMAN_URL: '', PROXYHUB_TLS_CERT: pki.server.cert, PROXYHUB_TLS_KEY: pki.server.key }, reason: /TLS without PROXYHUB_TLS_CA/ },
  { name: 'a TLS certificate without its key', roles: 'ingress', env: { PROXYHUB_FOREMAN_URL: '', PROXYHUB_TLS_CERT: pki.server.cert, PROXYHUB_TLS_CA: pki.caCert }, reason: /PROXYHUB_TLS_CERT and PROXYHUB_TLS_KEY must be set together/ },
  { name: 'an unreadable certificate file', roles: 'ingress', env: { PROXYHUB_FOREMAN_URL: '', ...tlsEnv, PROXYHUB_TLS_KEY: '/nonexistent/key.pem' }, reason: /PROXYHUB_TLS_KEY \/nonexistent\/key\.pem cannot be read/ },
  { name: 'ingress and control on one port', roles: 'all', env: { PROXYHUB_INGRESS_PORT: '9443', PROXYHUB_CONTROL_PORT: '9443' }, reason: /must use different ports/ },
  { name: 'an unknown role', roles: 'worker:dns', env: {}, reason: /unknown worker feature "dns"/ },
  { name: 'pull mode over plain MQTT beyond loopback', roles: 'worker:rex', env: { PROXYHUB_REX_MODE: 'pull-mqtt', PROXYHUB_MQTT_URL: 'mqtt://user:secret@mqtt.example.com:1883' }, reason: /PROXYHUB_MQTT_URL mqtt:\/\/mqtt\.example\.com:1883 is not mqtts:\/\/ or wss:\/\/ beyond loopback/ },
  { name: 'pull mode over a scheme mqtt.js would speak plainly', roles: 'worker:rex', env: { PROXYHUB_REX_MODE: 'pull-mqtt', PROXYHUB_MQTT_URL: 'mqqt://mqtt.example.com:1883' }, reason: /PROXYHUB_MQTT_URL mqqt:\/\/mqtt\.example\.com:1883 is not mqtts:\/\// },
  { name: 'an MQTT certificate without its key', roles: 'worker:rex', env: { PROXYHUB_REX_MODE: 'pull-mqtt', PROXYHUB_MQTT_URL: 'mqtts://mqtt.example.com:8883', PROXYHUB_MQTT_CERT: pki.server.cert }, reason: /PROXYHUB_MQTT_CERT and PROXYHUB_MQTT_KEY must be set together/ },
];

for (const testCase of refused) {
  t.test(`refused: ${testCase.name}`, async (t) => {
    const result = await check(testCase.roles, testCase.env);
    t.equal(result.code, 2, 'exits 2');
    t.match(result.stderr, testCase.reason, 'says why');
  });
}

t.test('refused: invalid values are all listed at once, with their variables', async (t) => {
  const result = await check('all', { PROXYHUB_INGRESS_PORT: 'eighty', PROXYHUB_RETRY_DELAYS_MS: '100,soon', PROXYHUB_ALLOW_INSECURE: 'maybe' });
  t.equal(result.code, 2);
  for (const variable of ['PROXYHUB_INGRESS_PORT', 'PROXYHUB_RETRY_DELAYS_MS', 'PROXYHUB_ALLOW_INSECURE']) t.match(result.stderr, variable);
});

t.test('plan: the nodes of a broker cluster, every password redacted; a bad node refused by name', async (t) => {
  const nodes = 'amqp://facts:s3cret@mq1.example.com:5672/%2F,amqp://facts:s3cret@mq2.example.com:5672/%2F,amqp://facts:s3cret@mq3.example.com:5672/%2F';
  const result = await check('worker:facts', { PROXYHUB_AMQP_URL: nodes });
  t.equal(result.code, 0, result.stderr);
  t.match(result.stdout, /broker amqp:\/\/facts:\*\*\*@mq1\.example\.com:5672\/%2F,amqp:\/\/facts:\*\*\*@mq2\.example\.com:5672\/%2F,amqp:\/\/facts:\*\*\*@mq3\.example\.com:5672\/%2F/);
  t.notMatch(result.stdout, /s3cret/, 'no password printed');
  const bad = await check('worker:facts', { PROXYHUB_AMQP_URL: `${nodes},mq4.example.com` });
  t.equal(bad.code, 2);
  t.match(bad.stderr, /PROXYHUB_AMQP_URL\): item 4 \(mq4\.example\.com\) must be an amqp:\/\//);
});

t.test('plan: everything in one process (role all) with TLS', async (t) => {
  const result = await check('all', { ...tlsEnv, PROXYHUB_TRUSTED_HOSTS: 'foreman.example.com' });
  t.equal(result.code, 0, result.stderr);
  t.match(result.stdout, /process roles: ingress, control, worker:facts, worker:reports, worker:openscap, worker:rhsm, worker:registration, worker:rex/);
  t.match(result.stdout, /ingress listener https:\/\/127\.0\.0\.1:0\n\s+HTTPS, TLS 1\.2\+; client certificates requested and verified against/);
  t.match(result.stdout, /POST \/api\/v2\/hosts\/facts\s+client certificate/);
  t.match(result.stdout, /trusted_hosts: foreman\.example\.com/);
  t.match(result.stdout, /GET \/dead-letters\s+trusted_hosts \+ client certificate/);
  t.match(result.stdout, /reaches: broker .* only \(no Foreman, no Redis\)/);
  t.match(result.stdout, /workers: facts, reports, openscap, rhsm, registration, rex\n\s+reach: broker .*Redis .*Foreman https:\/\/foreman\.example\.com/);
  t.match(result.stdout, /configuration OK/);
});

t.test('plan: a split deployment (ingress, control, workers on separate machines)', async (t) => {
  const ingress = await check('ingress', { ...tlsEnv, PROXYHUB_FOREMAN_URL: '', PROXYHUB_INGRESS_HOST: '0.0.0.0' });
  t.equal(ingress.code, 0, ingress.stderr);
  t.match(ingress.stdout, /process roles: ingress\n/);
  t.notMatch(ingress.stdout, /control listener|workers:|Foreman https?:/, 'the ingress plan names no control route and no Foreman');
  const control = await check('control', { ...tlsEnv, PROXYHUB_CONTROL_HOST: '0.0.0.0', PROXYHUB_TRUSTED_HOSTS: 'foreman.example.com' });
  t.equal(control.code, 0, control.stderr);
  t.notMatch(control.stdout, /ingress listener|\/api\/v2\/hosts\/facts/, 'no client route on the control listener');
  const workers = await check('worker:facts,worker:reports', {});
  t.equal(workers.code, 0, workers.stderr);
  t.notMatch(workers.stdout, /listener/, 'workers listen on nothing');
  t.match(workers.stdout, /workers: facts, reports/);
});

t.test('plan: co-located (listeners in one process, workers in another, same host)', async (t) => {
  const listeners = await check('ingress,control', { ...tlsEnv, PROXYHUB_INGRESS_HOST: '0.0.0.0' });
  t.equal(listeners.code, 0, listeners.stderr);
  t.match(listeners.stdout, /ingress listener https:\/\/0\.0\.0\.0/);
  t.match(listeners.stdout, /control listener https:\/\/127\.0\.0\.1/);
  const workers = await check('worker:facts,worker:reports', {});
  t.equal(workers.code, 0, workers.stderr);
});

t.test('plan: trusted_hosts unset refuses everyone on the control routes, and says so', async (t) => {
  const result = await check('control', {});
  t.equal(result.code, 0, result.stderr);
  t.match(result.stdout, /trusted_hosts: unset or empty \(protected routes refuse everyone/);
});

t.test('plan: an ingress behind a TLS-terminating front proxy', async (t) => {
  const result = await check('ingress', { PROXYHUB_FOREMAN_URL: '', PROXYHUB_INGRESS_HOST: '0.0.0.0', PROXYHUB_ALLOW_INSECURE: '1', PROXYHUB_FRONT_PROXIES: '10.0.0.5', PROXYHUB_RELAY_CLIENTS: 'puppet.example.com' });
  t.equal(result.code, 0, result.stderr);
  t.match(result.stdout, /plain HTTP behind the front proxies 10\.0\.0\.5: client identity from their x-ssl-client-cn header only/);
  t.match(result.stdout, /relay clients that may upload for any host: puppet\.example\.com/);
  t.match(result.stdout, /POST \/api\/v2\/hosts\/facts\s+client certificate/);
});

t.test('plan: the front proxy of a co-located ingress is not believed by the control listener beside it', async (t) => {
  const result = await check('ingress,control', { PROXYHUB_FRONT_PROXIES: '127.0.0.1', PROXYHUB_TRUSTED_HOSTS: 'foreman.example.com' });
  t.equal(result.code, 0, result.stderr);
  const control = result.stdout.slice(result.stdout.indexOf('control listener'));
  t.match(control, /plain HTTP \(no TLS\): no client identity, callers known by their address \(loopback only\); front proxies are not believed here/);
  t.match(control, /GET \/dead-letters\s+trusted_hosts by the addresses their names resolve to \(no TLS\)/);
  t.notMatch(control, /x-ssl-client-cn/);
});

t.test('start refuses a control listener beyond loopback without TLS and trusted_hosts, before touching the broker', async (t) => {
  const result = await runCli(config, ['start', '--role', 'control'], { PROXYHUB_CONTROL_HOST: '0.0.0.0', PROXYHUB_ALLOW_INSECURE: '1', PROXYHUB_AMQP_URL: 'amqp://127.0.0.1:1' });
  t.equal(result.code, 2);
  t.match(result.stderr, /refusing to start/);
  t.match(result.stderr, /control listener on 0\.0\.0\.0 would speak plain HTTP/);
  t.match(result.stderr, /control listener on 0\.0\.0\.0 has no PROXYHUB_TRUSTED_HOSTS/);
});
