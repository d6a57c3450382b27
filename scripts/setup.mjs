#!/usr/bin/env node
// The set-up behind `npm start`, `npm test` and `npm run bench` (entered through scripts/run.mjs,
// which has checked the Node.js version): dependencies, RabbitMQ, Redis and Mosquitto, the build.
// Plain JavaScript with no dependencies, because it runs before `npm ci` has.
import { spawnSync, spawn } from 'node:child_process';
import { existsSync, lstatSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const [command = 'start', ...args] = process.argv.slice(2);
const say = (message) => process.stderr.write(`proxyhub setup: ${message}\n`);
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

function run(cmd, cmdArgs, options = {}) {
  const result = spawnSync(cmd, cmdArgs, { cwd: root, stdio: options.quiet ? 'ignore' : 'inherit', env: process.env, ...options });
  return result.status === 0;
}

function haveCommand(name) {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

// Building and testing need the dev dependencies: `npm ci` skips them without a word under
// NODE_ENV=production (or npm's omit=dev), and a build then fails on a missing tsc.
const buildTools = [['typescript', 'tsc'], ['tap', 'tap'], ['eslint', 'eslint']];
const missingBuildTools = () => buildTools.filter(([, bin]) => !existsSync(`${root}/node_modules/.bin/${bin}`)).map(([name]) => name);

function ensureDependencies() {
  const lock = `${root}/package-lock.json`;
  const marker = `${root}/node_modules/.package-lock.json`;
  const current = existsSync(marker) && statSync(marker).mtimeMs >= statSync(lock).mtimeMs;
  const missing = missingBuildTools();
  if (current && missing.length === 0) return;
  // npm ci empties node_modules before it installs: through a link (a worktree sharing another
  // checkout's node_modules) it would empty that checkout's too, under whatever runs there.
  if (lstatSync(`${root}/node_modules`, { throwIfNoEntry: false })?.isSymbolicLink()) {
    const target = realpathSync(`${root}/node_modules`);
    if (missing.length === 0) return say(`node_modules links to ${target} (shared); not reinstalling it from here`);
    say(`node_modules links to ${target} and lacks ${missing.join(', ')}; run there: npm ci --include=dev`);
    process.exit(1);
  }
  if (current) say(`node_modules lacks the build tools (${missing.join(', ')}): it was installed without dev dependencies (NODE_ENV=production or omit=dev); reinstalling`);
  say('installing npm dependencies (npm ci --include=dev)');
  if (!run('npm', ['ci', '--include=dev', '--no-audit', '--no-fund'])) {
    say('npm ci failed; see the output above');
    process.exit(1);
  }
  const stillMissing = missingBuildTools();
  if (stillMissing.length > 0) {
    say(`npm ci did not install ${stillMissing.join(', ')} (dev dependencies); check npm's config for omit=dev (npm config get omit) and run: npm ci --include=dev`);
    process.exit(1);
  }
}

function reachable(url, defaultPort) {
  const parsed = new URL(url);
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  const port = Number(parsed.port || defaultPort);
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 1000 }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
    socket.on('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

async function waitReachable(url, defaultPort, seconds) {
  for (let i = 0; i < seconds * 2; i += 1) {
    if (await reachable(url, defaultPort)) return true;
    await new Promise((r) => setTimeout(r, 500));
  }
  return false;
}

function isLocal(url) {
  return ['127.0.0.1', 'localhost', '::1', '[::1]'].includes(new URL(url).hostname);
}

const services = [
  {
    name: 'RabbitMQ',
    url: process.env.PROXYHUB_AMQP_URL ?? 'amqp://127.0.0.1:5672',
    envKey: 'PROXYHUB_AMQP_URL',
    port: 5672,
    composeService: 'rabbitmq',
    debPackage: 'rabbitmq-server',
    binary: 'rabbitmq-server',
    start: () => run('rabbitmq-server', ['-detached']),
  },
  {
    name: 'Redis',
    url: process.env.PROXYHUB_REDIS_URL ?? 'redis://127.0.0.1:6379',
    envKey: 'PROXYHUB_REDIS_URL',
    port: 6379,
    composeService: 'redis',
    debPackage: 'redis-server',
    binary: 'redis-server',
    start: () => run('redis-server', ['--daemonize', 'yes', '--bind', '127.0.0.1', '--port', '6379', '--appendonly', 'yes', '--dir', '/var/lib/redis']),
  },
  {
    // REX pull-mqtt notifications (the rex worker and its tests).
    name: 'Mosquitto',
    url: process.env.PROXYHUB_MQTT_URL ?? 'mqtt://127.0.0.1:1883',
    port: 1883,
    composeService: 'mosquitto',
    debPackage: 'mosquitto',
    binary: 'mosquitto',
    start: () => run('mosquitto', ['-d', '-p', '1883']),
  },
];

function dockerEngine() {
  return haveCommand('docker') && run('docker', ['info'], { quiet: true });
}

// RabbitMQ and Redis from compose.yaml log in with the local administrator account: the hub and
// the tests get it through the URL variable, unless the user set that variable.
const { accountFile, composeEnvironment, composeRuns, localComposeAccount, withAccount } = await import('./compose-account.mjs');
const composeAccountFor = (service) => service.envKey !== undefined && process.env[service.envKey] === undefined;
function adoptComposeAccount(service) {
  service.url = withAccount(service.url, localComposeAccount(root), service.composeService);
  process.env[service.envKey] = service.url;
}

async function ensureService(service) {
  if (await reachable(service.url, service.port)) {
    if (composeAccountFor(service) && existsSync(accountFile(root)) && composeRuns(root, service.composeService)) adoptComposeAccount(service);
    return;
  }
  if (!isLocal(service.url)) {
    say(`${service.name} at ${new URL(service.url).host} does not answer; start it or fix the URL`);
    process.exit(1);
  }
  if (dockerEngine()) {
    say(`starting ${service.name} with docker compose`);
    run('docker', ['compose', 'up', '-d', '--wait', service.composeService], { env: composeEnvironment(localComposeAccount(root)) });
    if (composeAccountFor(service)) adoptComposeAccount(service);
  } else {
    if (!haveCommand(service.binary)) {
      if (!isRoot) {
        say(`${service.name} is not running and not installed. Install it with: sudo apt-get install -y ${service.debPackage}  (or install Docker: the set-up then runs it from compose.yaml)`);
        process.exit(1);
      }
      say(`installing ${service.debPackage} from the OS packages`);
      run('apt-get', ['update', '-qq']);
      run('apt-get', ['install', '-y', '-qq', service.debPackage], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    }
    say(`starting ${service.name} (${service.binary})`);
    service.start();
  }
  if (!(await waitReachable(service.url, service.port, 60))) {
    say(`${service.name} did not come up on ${new URL(service.url).host}`);
    process.exit(1);
  }
}

ensureDependencies();
for (const service of services) await ensureService(service);
await checkBroker(services[0]);
if (needsAmqp10()) await ensureAmqp10(services[0]);

// The full test suite runs its transport files a second time over AMQP 1.0; the hub and the
// benchmark need it when asked for.
function needsAmqp10() {
  const env = process.env;
  if (command === 'test') return args.filter((a) => !a.startsWith('-')).length === 0 || env.PROXYHUB_TEST_TRANSPORT === 'amqp10';
  if (command === 'bench') return args.some((a, i) => a === '--transport=amqp10' || (a === '--transport' && args[i + 1] === 'amqp10'));
  return env.PROXYHUB_TRANSPORT === 'amqp10' || /^amqp10s?:/.test(env.PROXYHUB_AMQP_URL ?? '');
}

async function ensureAmqp10(rabbit) {
  const { brokerSpeaksAmqp10, enableLocalAmqp10Plugin } = await import('./amqp10-check.mjs');
  if (await brokerSpeaksAmqp10(rabbit.url)) return;
  if (!isLocal(rabbit.url) || !haveCommand('rabbitmq-plugins')) {
    say('the broker does not speak AMQP 1.0; on RabbitMQ 3.x run: rabbitmq-plugins enable rabbitmq_amqp1_0');
    process.exit(1);
  }
  say('enabling RabbitMQ\'s AMQP 1.0 plugin (rabbitmq-plugins enable rabbitmq_amqp1_0; no restart)');
  if (!enableLocalAmqp10Plugin() || !(await brokerSpeaksAmqp10(rabbit.url))) {
    say('could not enable rabbitmq_amqp1_0; run it by hand (as root or the rabbitmq user)');
    process.exit(1);
  }
}

async function checkBroker(rabbit) {
  const { brokerSupportsProxyhubQueues, restartLocalRabbit } = await import('./broker-check.mjs');
  if (await brokerSupportsProxyhubQueues(rabbit.url)) return;
  if (!isLocal(rabbit.url) || !isRoot || !haveCommand('rabbitmqctl')) {
    say('RabbitMQ refuses quorum queues with at-least-once dead-lettering; restart the RabbitMQ node (see README, "Known broker issues")');
    process.exit(1);
  }
  say('restarting the local RabbitMQ node to recover its dead-letter supervisor');
  restartLocalRabbit();
  await waitReachable(rabbit.url, rabbit.port, 120);
  let healthy = false;
  for (let attempt = 0; attempt < 30 && !healthy; attempt += 1) {
    healthy = await brokerSupportsProxyhubQueues(rabbit.url);
    if (!healthy) await new Promise((r) => setTimeout(r, 2000));
  }
  if (!healthy) {
    say('RabbitMQ did not recover; see its log');
    process.exit(1);
  }
}

if (command === 'start' || command === 'bench') {
  const { buildIsCurrent } = await import('./build-state.mjs');
  if (!buildIsCurrent()) {
    say('compiling to dist/ (npm run build)');
    const { build } = await import('./build.mjs');
    if (!build()) process.exit(1);
  }
}

// Launch flags for the long-running hub (package.json "proxyhub.nodeFlags"): a young generation
// of 2 × 4 MiB (V8's default is up to 2 × 16) keeps a busy ingress under 100 MiB at no measured
// cost in throughput (README, "Ingress").
const { proxyhub: { nodeFlags = [] } = {} } = JSON.parse(readFileSync(`${root}/package.json`, 'utf8'));
const scripts = { start: [...nodeFlags, 'bin/proxyhub.mjs', 'start', ...args], test: ['scripts/test.mjs', ...args], bench: ['--import', 'tsx', 'bench/run.ts', ...args] };
if (!scripts[command]) {
  say(`unknown command ${command} (use start, test or bench)`);
  process.exit(2);
}
// The quick start (`npm start` with nothing configured) serves Foreman on loopback with the
// protected control routes open, and a plain-HTTP loopback ingress that takes uploads bound to no
// certificate, and says so; any deployment that sets trusted_hosts, a control address, TLS, front
// proxies or a config file gets the secure defaults (protected routes refuse until it lists
// Foreman; an ingress with no client identity refuses uploads).
function quickStartEnvironment() {
  const env = process.env;
  if (command !== 'start' || env.PROXYHUB_CONFIG !== undefined) return env;
  const loopback = (host) => ['127.0.0.1', 'localhost', '::1', undefined].includes(host);
  const openControl = loopback(env.PROXYHUB_CONTROL_HOST) && env.PROXYHUB_TRUSTED_HOSTS === undefined && env.PROXYHUB_DEV_OPEN_CONTROL === undefined;
  const noIdentity = env.PROXYHUB_TLS_CERT === undefined && env.PROXYHUB_FRONT_PROXIES === undefined;
  const anonymousUploads = loopback(env.PROXYHUB_INGRESS_HOST) && noIdentity && env.PROXYHUB_DEV_ANONYMOUS_UPLOADS === undefined;
  if (!openControl && !anonymousUploads) return env;
  const rule = '!'.repeat(78);
  const lines = ['  proxyhub quick start: DEVELOPMENT MODE'];
  if (openControl) lines.push('  PROXYHUB_DEV_OPEN_CONTROL=1: the control listener stays on loopback, and every', '  local caller may launch REX jobs, replay dead letters and read host data on it.', "  For a real deployment set PROXYHUB_TRUSTED_HOSTS to Foreman's certificate name.");
  if (anonymousUploads) lines.push('  PROXYHUB_DEV_ANONYMOUS_UPLOADS=1: the plain-HTTP loopback ingress accepts facts,', '  reports and ARF bound to no host certificate. For a real deployment use TLS', '  (PROXYHUB_TLS_CERT/KEY/CA) or list the TLS-terminating proxy in PROXYHUB_FRONT_PROXIES.');
  lines.push('  README, "Security model".');
  process.stderr.write(`${rule}\n${lines.join('\n')}\n${rule}\n`);
  return { ...env, ...(openControl ? { PROXYHUB_DEV_OPEN_CONTROL: '1' } : {}), ...(anonymousUploads ? { PROXYHUB_DEV_ANONYMOUS_UPLOADS: '1' } : {}) };
}

const child = spawn(process.execPath, scripts[command], { cwd: root, stdio: 'inherit', env: quickStartEnvironment() });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
