/**
 * compose.yaml is valid (Debian's docker-compose validates it offline, no engine needed) and
 * keeps the deployment rules: brokers healthy before the hub, Redis with AOF, no Foreman
 * settings in the ingress container.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import t from 'tap';
import { parse } from 'yaml';
import { CLOSE_MARGIN_MS } from '../../cli/closer.ts';
import { configSchema } from '../../hub/config/schema.ts';
import { REPO_ROOT } from '../helpers/hub-harness.ts';

const run = promisify(execFile);

interface Service {
  image?: string;
  ports?: Array<string | { host_ip?: string; published?: string | number; target?: number }>;
  stop_grace_period?: string;
  command?: string[];
  environment?: Record<string, string>;
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
  build?: unknown;
}

/** What an operator sets besides the accounts file: the Redis administrator's password. */
const operatorEnv = { ...process.env, REDIS_ADMIN_PASSWORD: 'admin-secret' };

t.test('docker-compose validates compose.yaml', async (t) => {
  const result = await run('docker-compose', ['-f', 'compose.yaml', 'config', '-q'], { cwd: REPO_ROOT, env: operatorEnv }).catch((error: NodeJS.ErrnoException & { stderr?: string }) => {
    if (error.code === 'ENOENT') throw new Error('docker-compose is not installed: apt-get install docker-compose (npm test installs it when run as root)');
    throw new Error(`compose.yaml is invalid: ${error.stderr ?? error.message}`);
  });
  t.equal(result.stderr.trim(), '', 'no warnings');
});

t.test('the resolved file keeps the deployment rules', async (t) => {
  // What `proxyhub broker setup --out .env` writes: one account per role.
  const accounts = Object.fromEntries(['INGRESS', 'CONTROL', 'FACTS', 'REPORTS', 'OPENSCAP', 'RHSM', 'REGISTRATION', 'REX'].flatMap((role) => [
    [`PROXYHUB_${role}_AMQP_URL`, `amqp://proxyhub-${role.toLowerCase()}:pw@rabbitmq:5672`],
    [`PROXYHUB_${role}_REDIS_URL`, `redis://proxyhub-${role.toLowerCase()}:pw@redis:6379`],
  ]));
  const { stdout } = await run('docker-compose', ['-f', 'compose.yaml', 'config'], { cwd: REPO_ROOT, env: { ...operatorEnv, ...accounts, PROXYHUB_FOREMAN_URL: 'https://foreman.test', PROXYHUB_TRUSTED_HOSTS: 'foreman.test' } });
  const services = (parse(stdout) as { services: Record<string, Service> }).services;
  t.ok(services.rabbitmq?.healthcheck, 'RabbitMQ has a healthcheck');
  t.ok(services.redis?.healthcheck, 'Redis has a healthcheck');
  t.match(JSON.stringify(services.redis), /appendonly.{0,8}yes/, 'Redis keeps an append-only file');
  const roles = Object.entries(services).filter(([, service]) => service.build !== undefined);
  t.same(roles.map(([name]) => name).sort(), ['control', 'ingress', 'worker-facts', 'worker-openscap', 'worker-registration', 'worker-reports', 'worker-rex', 'worker-rhsm']);
  for (const [name, service] of roles) {
    t.equal(service.depends_on?.rabbitmq?.condition, 'service_healthy', `${name} waits for a healthy broker`);
    t.ok(service.healthcheck, `${name} has a healthcheck (workers on their metrics port)`);
    t.match(service.environment?.PROXYHUB_AMQP_URL, /^amqp:\/\/.+@rabbitmq:5672/, `${name} reaches the broker by service name`);
    const role = name.replace(/^worker-/, '');
    t.match(service.environment?.PROXYHUB_AMQP_URL, `proxyhub-${role}:`, `${name} logs in with its own broker account`);
    if (service.environment?.PROXYHUB_REDIS_URL !== undefined) t.match(service.environment.PROXYHUB_REDIS_URL, `proxyhub-${role}:`, `${name} logs in with its own Redis account`);
  }
  t.notMatch(stdout, /guest/, 'no role uses the trial account');
  t.match(JSON.stringify(services.redis), /requirepass.{0,8}admin-secret/, 'Redis refuses anonymous clients');
  // Secure by default: both listeners speak TLS, nothing relies on PROXYHUB_ALLOW_INSECURE, and
  // the control listener names the Foreman allowed on it.
  for (const name of ['ingress', 'control']) {
    const environment = services[name]?.environment ?? {};
    t.equal(environment.PROXYHUB_ALLOW_INSECURE, undefined, `${name}: no plain HTTP`);
    t.match(environment.PROXYHUB_TLS_CA, /\.pem$/, `${name}: client certificates verified`);
  }
  t.equal(services.control?.environment?.PROXYHUB_TRUSTED_HOSTS, 'foreman.test', 'control lists the trusted Foreman');
  t.equal(services.control?.environment?.PROXYHUB_DEV_OPEN_CONTROL, undefined, 'no development flag');
  const ingress = services.ingress?.environment ?? {};
  t.equal(ingress.PROXYHUB_REDIS_URL, undefined, 'the ingress has no Redis account');
  t.same(Object.keys(ingress).filter((key) => key.startsWith('PROXYHUB_FOREMAN')), [], 'the ingress gets no Foreman settings');
  t.equal(services['worker-facts']?.environment?.PROXYHUB_FOREMAN_URL, 'https://foreman.test', 'workers get the Foreman URL');
  t.same(services['worker-facts']?.command, ['start', '--role', 'worker:facts']);
  t.same(services['worker-rex']?.command, ['start', '--role', 'worker:rex']);
  t.equal(services['worker-rex']?.environment?.PROXYHUB_MQTT_URL, 'mqtt://mosquitto:1883', 'the rex worker reaches Mosquitto by service name');
});

/** "1m30s", "20s", "500ms" (compose durations) in milliseconds. */
function durationMs(text: string | undefined): number {
  let total = 0;
  for (const [, amount, unit] of (text ?? '').matchAll(/(\d+)(ms|s|m|h)/g)) total += Number(amount) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[unit as 'ms' | 's' | 'm' | 'h'];
  return total;
}

t.test('the local-run route: RabbitMQ 4, loopback ports for the broker and Redis, stop periods past the hub grace', async (t) => {
  const { stdout } = await run('docker-compose', ['-f', 'compose.yaml', 'config'], { cwd: REPO_ROOT, env: operatorEnv });
  const services = (parse(stdout) as { services: Record<string, Service> }).services;
  t.match(services.rabbitmq?.image, /^rabbitmq:4[.-]/, 'a supported RabbitMQ with AMQP 1.0 built in');
  const published = (name: string): string[] => (services[name]?.ports ?? []).map((port) => (typeof port === 'string' ? port : `${port.host_ip ?? ''}:${port.published ?? ''}:${port.target ?? ''}`));
  t.ok(published('rabbitmq').some((port) => /^127\.0\.0\.1:5672:5672/.test(port)), 'the broker on loopback');
  t.ok(published('redis').some((port) => /^127\.0\.0\.1:6379:6379/.test(port)), 'Redis on loopback');
  const hubGraceMs = configSchema.parse({}).worker.shutdownGraceMs + CLOSE_MARGIN_MS;
  for (const [name, service] of Object.entries(services).filter(([, service]) => service.build !== undefined)) {
    t.ok(durationMs(service.stop_grace_period) > hubGraceMs, `${name}: stop_grace_period ${service.stop_grace_period ?? '(10s default)'} exceeds the shutdown grace plus its close margin (${hubGraceMs} ms)`);
  }
  t.ok(durationMs(services.rabbitmq?.stop_grace_period) > 10_000, 'the broker gets more than Docker\'s default 10 s to stop');
});
