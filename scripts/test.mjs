#!/usr/bin/env node
// The test command: type-check, lint, the parallel suite (unit + integration), then the fault suite one
// file at a time (it restarts shared services). Test files marked `@every-transport` run a second
// time over AMQP 1.0 (PROXYHUB_TEST_TRANSPORT=amqp10), with the same assertions. Prints one
// closing line `N passed, N failed` that counts every run.
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
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

function typecheck() {
  const result = spawnSync(`${root}/node_modules/.bin/tsc`, ['--noEmit', '-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' });
  if (result.status === 0) passed += 1;
  else failed += 1;
  process.stdout.write(`${result.status === 0 ? 'ok' : 'not ok'} - typecheck (tsc --noEmit)\n`);
}

// Type-aware lint (eslint.config.js) over the whole checkout: one check, like the type check.
function lint() {
  const result = spawnSync(`${root}/node_modules/.bin/eslint`, ['.'], { cwd: root, stdio: 'inherit' });
  if (result.status === 0) passed += 1;
  else failed += 1;
  process.stdout.write(`${result.status === 0 ? 'ok' : 'not ok'} - lint (eslint)\n`);
}

// Subtests of each test file are reported one level in: count those, so a file's tests count singly.
// A file that fails without a failing subtest (it crashed, or failed outside any subtest) counts
// as one failure, so the closing line never says 0 failed while the run fails.
let fileFailures = 0;
function countLine(line) {
  const file = /^(not )?ok \d+ - tests\//.exec(line);
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

/** The files of `dir` that carry the marker: to include a test file in the AMQP 1.0 pass, add it to its header comment. */
function everyTransportFiles(dir) {
  return readdirSync(`${root}/${dir}`)
    .filter((name) => name.endsWith('.test.ts') && readFileSync(`${root}/${dir}/${name}`, 'utf8').includes('@every-transport'))
    .map((name) => `${dir}/${name}`)
    .sort();
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

const only = process.argv.slice(2);
ensureComposeValidator();
ensureSshd();
typecheck();
lint();
let exitCode = 0;
if (only.length > 0) {
  exitCode = await runTap('selected tests', ['--disable-coverage', ...only]);
} else {
  const amqp10 = { PROXYHUB_TEST_TRANSPORT: 'amqp10' };
  const parallel = await runTap('unit and integration suite (parallel)', ['--coverage-report=text-summary', 'tests/unit/*.test.ts', 'tests/integration/*.test.ts'], { PROXYHUB_TEST_TRANSPORT: 'amqp091' });
  const parallel10 = await runTap('integration files again over AMQP 1.0 (parallel)', ['--disable-coverage', ...everyTransportFiles('tests/integration')], amqp10);
  const fault = await runTap('fault suite (one file at a time)', ['--jobs=1', '--disable-coverage', 'tests/fault/*.test.ts'], { PROXYHUB_TEST_TRANSPORT: 'amqp091' });
  const fault10 = await runTap('fault files again over AMQP 1.0 (one at a time)', ['--jobs=1', '--disable-coverage', ...everyTransportFiles('tests/fault')], amqp10);
  exitCode = parallel || parallel10 || fault || fault10;
}
if (failed > 0 && exitCode === 0) exitCode = 1;
process.stdout.write(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
process.exit(exitCode);
