/**
 * The systemd units in packaging/systemd/: systemd's own `systemd-analyze verify` accepts every
 * instance shape (a listener, a worker feature with its ':', an escaped list of features, `all`)
 * without a warning, and its offline security review rates the ingress well. Structurally: the
 * hardening options are there, every variable the units set is a proxyhub setting, the stop
 * timeout outlasts the shutdown grace by more than the 5 s the hub allows itself, and the ingress
 * instance gets no Foreman credential or setting.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { appliedDefaults, settings } from '../../hub/config/settings.ts';

const UNITS = fileURLToPath(new URL('../../packaging/systemd/', import.meta.url));
const TEMPLATE = 'proxyhub@.service';
const INGRESS_DROP_IN = 'proxyhub@ingress.service.d/ingress.conf';

type Unit = Map<string, string[]>;

/** `Section.Key` → every value assigned, in order (an empty assignment kept: it resets a list). */
function parseUnit(text: string): Unit {
  const unit: Unit = new Map();
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) section = header[1] ?? '';
    else {
      const at = line.indexOf('=');
      const key = `${section}.${line.slice(0, at)}`;
      unit.set(key, [...(unit.get(key) ?? []), line.slice(at + 1)]);
    }
  }
  return unit;
}

const NODE_FLAGS = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { proxyhub: { nodeFlags: string[] } }).proxyhub.nodeFlags;
const read = (name: string): Unit => parseUnit(readFileSync(join(UNITS, name), 'utf8'));
const template = read(TEMPLATE);
const values = (unit: Unit, key: string): string[] => unit.get(key) ?? [];
const last = (unit: Unit, key: string): string | undefined => values(unit, key).at(-1);
/** `Environment=A=1 B=2` lines, as name → value. */
const environment = (unit: Unit): Map<string, string> => new Map(values(unit, 'Service.Environment').flatMap((line) => line.split(/\s+/).filter(Boolean).map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)] as [string, string])));

function seconds(value: string | undefined): number {
  const match = /^(\d+)(s|min)?$/.exec(value ?? '');
  if (!match) return Number.NaN;
  return Number(match[1]) * (match[2] === 'min' ? 60 : 1);
}

const analyze = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
const haveAnalyze = analyze.status === 0;

/** Runs `systemd-analyze verify` on copies of the units; the output must be empty (a warning is a failure). */
function verify(dir: string, ...units: string[]): { status: number | null; output: string } {
  const result = spawnSync('systemd-analyze', ['verify', '--man=no', ...units.map((unit) => (unit.includes(':') ? unit : join(dir, unit)))], { cwd: dir, encoding: 'utf8', env: { ...process.env, SYSTEMD_LOG_COLOR: '0' } });
  return { status: result.status, output: `${result.stdout}${result.stderr}`.trim() };
}

t.test('systemd-analyze verify accepts every instance shape without a warning', { skip: haveAnalyze ? false : 'systemd-analyze is not installed' }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'proxyhub-units-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(UNITS, dir, { recursive: true });
  // ':' in an argument is verify's own "source:alias" syntax, so a ':' instance is verified as an alias of the template.
  const escapedList = spawnSync('systemd-escape', ['worker:facts,worker:reports'], { encoding: 'utf8' }).stdout.trim();
  for (const unit of ['proxyhub.target', 'proxyhub@ingress.service', 'proxyhub@control.service', 'proxyhub@all.service', `${join(dir, TEMPLATE)}:proxyhub@worker:facts.service`, `${join(dir, TEMPLATE)}:proxyhub@${escapedList}.service`]) {
    t.strictSame(verify(dir, unit), { status: 0, output: '' }, unit);
  }
  // The check is not vacuous: an unknown key and a bad value are reported.
  writeFileSync(join(dir, 'broken@.service'), readFileSync(join(dir, TEMPLATE), 'utf8').replace('TimeoutStopSec=20s', 'TimeoutStopSec=twenty\nFrobnicate=yes'));
  t.match(verify(dir, 'broken@ingress.service').output, /Failed to parse time value[\s\S]*Unknown key/);
});

t.test('systemd-analyze security rates the ingress instance as well exposed as little as it can', { skip: haveAnalyze ? false : 'systemd-analyze is not installed' }, async (t) => {
  const result = spawnSync('systemd-analyze', ['security', '--offline=yes', '--no-pager', join(UNITS, 'proxyhub@ingress.service')], { encoding: 'utf8', env: { ...process.env, SYSTEMD_UNIT_PATH: `${UNITS}:`, SYSTEMD_LOG_COLOR: '0' } });
  const level = Number(/Overall exposure level for proxyhub@ingress\.service: ([\d.]+)/.exec(result.stdout)?.[1]);
  t.ok(level <= 2, `exposure ${level} (0 best, 10 worst)`);
});

t.test('the template has the hardening systemd offers a network daemon', async (t) => {
  const expected: Record<string, string> = {
    'Service.DynamicUser': 'yes',
    'Service.NoNewPrivileges': 'yes',
    'Service.CapabilityBoundingSet': '',
    'Service.ProtectSystem': 'strict',
    'Service.ProtectHome': 'yes',
    'Service.PrivateTmp': 'yes',
    'Service.PrivateDevices': 'yes',
    'Service.RestrictAddressFamilies': 'AF_INET AF_INET6 AF_UNIX',
    'Service.SystemCallArchitectures': 'native',
    'Service.KillMode': 'mixed',
    'Service.StateDirectory': 'proxyhub',
    'Service.ReadWritePaths': '%S/proxyhub',
    // The launch flags `npm start` and the container use (package.json "proxyhub.nodeFlags").
    'Service.ExecStart': ['/usr/bin/node', ...NODE_FLAGS, '/opt/proxyhub/bin/proxyhub.mjs start --role %I'].join(' '),
    'Unit.PartOf': 'proxyhub.target',
    'Install.WantedBy': 'proxyhub.target',
  };
  for (const [key, value] of Object.entries(expected)) t.equal(last(template, key), value, key);
  t.ok(values(template, 'Service.SystemCallFilter').includes('@system-service'), 'SystemCallFilter=@system-service');
  t.ok(values(template, 'Service.EnvironmentFile').includes('-/etc/proxyhub/%i.env'), 'a settings file per instance');
  t.equal(last(read('proxyhub.target'), 'Install.WantedBy'), 'multi-user.target');
  const entrypoint = /^ENTRYPOINT (.*)$/m.exec(readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8'))?.[1];
  t.same(JSON.parse(entrypoint ?? '[]'), ['node', ...NODE_FLAGS, 'bin/proxyhub.mjs'], 'the container starts with the same flags');
});

t.test('the stop timeout outlasts the shutdown grace plus the 5 s the hub allows itself', async (t) => {
  const graceSeconds = appliedDefaults.worker.shutdownGraceMs / 1000;
  t.ok(seconds(last(template, 'Service.TimeoutStopSec')) > graceSeconds + 5, `TimeoutStopSec ${last(template, 'Service.TimeoutStopSec') ?? ''} > ${graceSeconds} s + 5 s`);
});

t.test('every variable the units set is a proxyhub setting', async (t) => {
  const known = new Set(['NODE_ENV', ...settings.map((s) => s.env)]);
  t.strictSame([...environment(template).keys()].filter((name) => !known.has(name)), []);
});

t.test('the ingress instance gets no Foreman credential or setting', async (t) => {
  const dropIn = read(INGRESS_DROP_IN);
  const credentials = values(dropIn, 'Service.LoadCredential');
  t.equal(credentials[0], '', 'the template’s credentials are cleared first');
  t.notOk(credentials.some((line) => line.startsWith('foreman')), 'no Foreman credential is loaded');
  const unset = new Set(values(dropIn, 'Service.UnsetEnvironment').flatMap((line) => line.split(/\s+/)));
  const foremanSettings = settings.map((s) => s.env).filter((name) => name.startsWith('PROXYHUB_FOREMAN_'));
  t.ok(foremanSettings.length >= 5);
  t.strictSame(foremanSettings.filter((name) => !unset.has(name)), [], 'every PROXYHUB_FOREMAN_* setting is unset');
});
