#!/usr/bin/env node
// The test command. Everything that can share the machine runs at once, in one tap run with one
// coverage report: unit tests, integration tests, the `@every-transport` files a second time over
// AMQP 1.0 (PROXYHUB_TEST_TRANSPORT=amqp10, same assertions), and the fault tests that restart
// nothing shared; the type-check and the lint run beside it. Then the fault tests marked `@runs-alone` (they
// restart or block RabbitMQ or Redis) run one at a time, with nothing else running. Prints one
// closing line `N passed, N failed` that counts every run.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const tap = `${root}/node_modules/.bin/tap`;
let passed = 0;
let failed = 0;
let skipped = 0;

function ensureComposeValidator() {
  if (spawnSync('sh', ['-c', 'command -v docker-compose'], { stdio: 'ignore' }).status === 0) return;
  if (process.getuid?.() !== 0) return; // the compose test then says what to install
  process.stderr.write('proxyhub test: installing docker-compose (Debian package) to validate compose.yaml offline\n');
  spawnSync('sh', ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose'], { stdio: 'inherit' });
}

// The REX tests run their own sshd (on a free port, as the current user) against loopback.
function ensureSshd() {
  if (spawnSync('sh', ['-c', 'test -x /usr/sbin/sshd'], { stdio: 'ignore' }).status === 0) return;
  if (process.getuid?.() !== 0) return; // the REX tests then say what to install
  process.stderr.write('proxyhub test: installing openssh-server (Debian package) for the REX tests\n');
  spawnSync('sh', ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssh-server'], { stdio: 'inherit' });
}

/** skopeo and Debian's docker-registry, for the container gateway's end-to-end test. */
function ensureContainerTools() {
  if (spawnSync('sh', ['-c', 'test -x /usr/bin/skopeo && test -x /usr/bin/docker-registry'], { stdio: 'ignore' }).status === 0) return;
  if (process.getuid?.() !== 0) return; // the test then says what to install
  process.stderr.write('proxyhub test: installing skopeo and docker-registry (Debian packages) for the container gateway test\n');
  spawnSync('sh', ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends skopeo docker-registry'], { stdio: 'inherit' });
}

/**
 * The status page's browser test drives Debian's Chromium (playwright-core never downloads a
 * browser of its own), and the systemd unit test runs systemd-analyze: installed as root when
 * missing, else the tests say what to install.
 */
function ensureBrowserAndSystemd() {
  const missing = [];
  if (spawnSync('sh', ['-c', 'test -x /usr/bin/chromium'], { stdio: 'ignore' }).status !== 0) missing.push('chromium');
  if (spawnSync('sh', ['-c', 'command -v systemd-analyze'], { stdio: 'ignore' }).status !== 0) missing.push('systemd');
  if (missing.length === 0 || process.getuid?.() !== 0) return;
  process.stderr.write(`proxyhub test: installing ${missing.join(' and ')} (Debian packages) for the status page and systemd unit tests\n`);
  spawnSync('sh', ['-c', `apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ${missing.join(' ')}`], { stdio: 'inherit' });
}

/**
 * .taprc removes tap's TypeScript plugin (the tests load through scripts/test-loader/), and tap
 * applies a plugin change only when its Test class is rebuilt: a fresh `npm ci` installs it built
 * with the plugin. Rebuild once, when the built class still imports it.
 */
function ensureTapBuilt() {
  const built = `${root}/node_modules/@tapjs/test/test-built/dist/esm/index.js`;
  let source = '';
  try {
    source = readFileSync(built, 'utf8');
  } catch {
    // Not built yet: tap build makes it.
  }
  if (source !== '' && !source.includes('"@tapjs/typescript"')) return;
  process.stderr.write('proxyhub test: rebuilding tap without its TypeScript plugin (tap build, once after npm ci)\n');
  const result = spawnSync(tap, ['build'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  if (result.status !== 0) {
    process.stderr.write('proxyhub test: tap build failed\n');
    process.exit(1);
  }
}

/**
 * A whole-tree check (tsc, the type-aware lint) in the background: CPU-bound, while the tests
 * mostly wait on I/O. Resolves with its label, verdict and output, reported by reportCheck. It
 * runs at nice 19 (every thread: `nice` starts it so): the tests' worker processes run at nice 10
 * (cli/cpu-priority.ts), and beside a check at 0 two of them once took over 30 s to start.
 */
function backgroundCheck(label, bin, args) {
  return new Promise((resolve) => {
    const child = spawn('nice', ['-n', '19', `${root}/node_modules/.bin/${bin}`, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('error', (error) => resolve({ label, ok: false, output: `${output}${label} could not run: ${error.message}\n` }));
    // 'close', not 'exit': the output pipes are drained by then, so a failed check says all it said.
    child.on('close', (code) => resolve({ label, ok: code === 0, output }));
  });
}

const typecheck = () => backgroundCheck('typecheck (tsc --noEmit)', 'tsc', ['--noEmit', '-p', 'tsconfig.json']);
// eslint.config.js: typescript-eslint's type-aware rules over the whole checkout.
const lint = () => backgroundCheck('lint (eslint)', 'eslint', ['.']);

/** One check counts as one test in the closing line. */
function reportCheck({ label, ok, output }) {
  if (output) process.stdout.write(output);
  if (ok) passed += 1;
  else failed += 1;
  process.stdout.write(`${ok ? 'ok' : 'not ok'} - ${label}\n`);
}

// Subtests of each test file are reported one level in: count those, so a file's tests count singly.
// A file that fails without a failing subtest (it crashed, or failed outside any subtest) counts
// as one failure, so the closing line never says 0 failed while the run fails.
let fileFailures = 0;
function countLine(line) {
  const file = /^(not )?ok \d+ - (?:\.tap\/amqp10\/)?tests\//.exec(line);
  if (file) {
    if (file[1] && fileFailures === 0) failed += 1;
    fileFailures = 0;
    return;
  }
  const match = /^ {4}(not )?ok \d+ - .*?(# SKIP.*|# TODO.*)?$/.exec(line);
  if (!match) return;
  if (match[2]) skipped += 1;
  else if (match[1]) {
    failed += 1;
    fileFailures += 1;
  } else passed += 1;
}

/** The test files of `dir`, sorted. */
function testFiles(dir) {
  return readdirSync(`${root}/${dir}`)
    .filter((name) => name.endsWith('.test.ts'))
    .map((name) => `${dir}/${name}`)
    .sort();
}

/** Whether a test file's header carries `marker` (`@every-transport`, `@runs-alone`). */
const marked = (marker) => (file) => readFileSync(`${root}/${file}`, 'utf8').includes(marker);

/**
 * A wrapper per file that runs it over AMQP 1.0, so both transports share one tap run (and one
 * coverage report). The transport is read when the test's helpers load, after the wrapper set it.
 */
function amqp10Wrappers(files) {
  const dir = `${root}/.tap/amqp10`;
  rmSync(dir, { recursive: true, force: true });
  return files.map((file) => {
    const wrapper = `.tap/amqp10/${file.replace(/\.ts$/, '.mjs')}`;
    mkdirSync(`${root}/${wrapper.slice(0, wrapper.lastIndexOf('/'))}`, { recursive: true });
    const target = `${'../'.repeat(wrapper.split('/').length - 1)}${file}`;
    writeFileSync(`${root}/${wrapper}`, `// Generated by scripts/test.mjs: ${file} over AMQP 1.0.\nprocess.env.PROXYHUB_TEST_TRANSPORT = 'amqp10';\nawait import('${target}');\n`);
    return wrapper;
  });
}

function runTap(label, tapArgs, env = {}) {
  return new Promise((resolve) => {
    process.stdout.write(`# ${label}\n`);
    const child = spawn(tap, ['--reporter=tap', ...tapArgs], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
    let buffer = '';
    child.stdout.on('data', (chunk) => {
      process.stdout.write(chunk);
      buffer += chunk.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      lines.forEach(countLine);
    });
    child.on('exit', (code) => {
      countLine(buffer);
      resolve(code ?? 1);
    });
  });
}

// One file per core: each integration file starts several processes (hubs, workers, Foreman
// stand-ins) of its own. Twice the cores, and then one more than the cores, held a slower 2-core
// machine's load average at 12–21, where heartbeat and debounce windows of a second or two were
// missed by starved processes (capability expiry, one refresh per burst) and RPCs timed out.
// PROXYHUB_TEST_JOBS overrides.
const jobs = Number(process.env.PROXYHUB_TEST_JOBS) || availableParallelism();

const only = process.argv.slice(2);
ensureComposeValidator();
ensureSshd();
ensureContainerTools();
ensureBrowserAndSystemd();
ensureTapBuilt();
let exitCode = 0;
if (only.length > 0) {
  reportCheck(await typecheck());
  exitCode = await runTap('selected tests', ['--disable-coverage', ...only]);
} else {
  const typechecked = typecheck();
  const linted = lint();
  // PROXYHUB_TEST_NO_FAULT=1 leaves tests/fault out: for a machine whose services others are using.
  const noFault = process.env.PROXYHUB_TEST_NO_FAULT === '1';
  const fault = noFault ? [] : testFiles('tests/fault');
  if (noFault) process.stdout.write('# tests/fault skipped (PROXYHUB_TEST_NO_FAULT=1)\n');
  // Alone: fault tests that restart or block a shared service, and integration tests that measure
  // latency under a load of their own (run beside the whole suite they would measure the suite).
  const integration = testFiles('tests/integration');
  const alone = [...fault, ...integration].filter(marked('@runs-alone'));
  // Files start in this order: the long integration files first, the short CPU-bound unit files last.
  const io = [...integration, ...fault].filter((file) => !alone.includes(file));
  const files = [...io, ...amqp10Wrappers(io.filter(marked('@every-transport'))), ...testFiles('tests/unit')];
  const parallel = await runTap('unit, integration and fault tests that share the machine, both transports (parallel)', [`--jobs=${jobs}`, '--coverage-report=text-summary', ...files], { PROXYHUB_TEST_TRANSPORT: 'amqp091' });
  reportCheck(await typechecked);
  reportCheck(await linted);
  const serial = alone.length === 0 ? 0 : await runTap('tests that need the machine to themselves: fault tests, load timing (one at a time)', ['--jobs=1', '--disable-coverage', ...alone, ...amqp10Wrappers(alone.filter(marked('@every-transport')))], { PROXYHUB_TEST_TRANSPORT: 'amqp091' });
  exitCode = parallel || serial;
}
if (failed > 0 && exitCode === 0) exitCode = 1;
// tap also exits non-zero with every test green when coverage is under the .taprc floors: count
// that as a failed check, so the closing line never says 0 failed for a failing run.
if (exitCode !== 0 && failed === 0) {
  failed += 1;
  process.stdout.write('not ok - tap exited non-zero with no failing test (coverage under the .taprc floors? see its ERROR lines above)\n');
}
process.stdout.write(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
process.exit(exitCode);
