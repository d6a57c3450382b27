import { readdirSync, readFileSync } from 'node:fs';
import t from 'tap';
import { parseRubyYaml } from '../../hub/ingress/ruby-yaml.ts';
import { ansibleFactsFromReport, ansibleReportToHostReport } from '../../workers/reports/ansible-report.ts';
import type { ReportContext } from '../../workers/reports/host-report.ts';
import { puppetReportToHostReport } from '../../workers/reports/puppet-report.ts';

const fixtures = new URL('../fixtures/reports/', import.meta.url);
const expected = new URL('expected/', fixtures);

const makeContext = (overrides: Partial<ReportContext> = {}): ReportContext => ({
  proxy: 'localhost',
  reportedAtProxy: '2024-05-06T07:08:09.123Z',
  id: 'event-1',
  ...overrides,
});

const readText = (name: string, dir: URL = fixtures): string => readFileSync(new URL(name, dir), 'utf8');
const readJson = (name: string, dir: URL = fixtures): unknown => JSON.parse(readText(name, dir));

/**
 * Exactly what upstream's `remove_volatile_keys` blanks (times, id, telemetry). `proxy` needs
 * no rewrite: upstream stubs it to "localhost" and the context passes the same.
 * Goes through JSON so both sides are compared as the wire would carry them.
 */
function normalise(report: unknown): unknown {
  const copy = JSON.parse(JSON.stringify(report)) as {
    host_report: { reported_at: string; body: Record<string, unknown> };
  };
  copy.host_report.reported_at = '';
  Object.assign(copy.host_report.body, { reported_at: '', reported_at_proxy: '', id: '', telemetry: {} });
  return copy;
}

const fixtureNames = readdirSync(fixtures).filter((name) => name.endsWith('.json') || name.endsWith('.yaml'));

t.test('fixtures are present', async (t) => {
  t.ok(fixtureNames.some((name) => name.endsWith('.yaml')), 'puppet fixtures');
  t.ok(fixtureNames.some((name) => name.endsWith('.json')), 'ansible fixtures');
});

for (const name of fixtureNames.filter((n) => n.endsWith('.yaml'))) {
  t.test(`puppet snapshot ${name}`, async (t) => {
    const report = puppetReportToHostReport(parseRubyYaml(readText(name)), makeContext());
    t.strictSame(normalise(report), normalise(readJson(`${name}.snapshot.json`, expected)));
  });
}

for (const name of fixtureNames.filter((n) => n.endsWith('.json'))) {
  t.test(`ansible snapshot ${name}`, async (t) => {
    const input = readJson(name);
    const before = JSON.stringify(input);
    const report = ansibleReportToHostReport(input, makeContext());
    t.strictSame(normalise(report), normalise(readJson(`${name}.report.snapshot.json`, expected)));
    t.equal(JSON.stringify(input), before, 'input is not modified');

    const factsSnapshot = `${name}.facts.snapshot.json`;
    const facts = ansibleFactsFromReport(input);
    if (readdirSync(expected).includes(factsSnapshot)) {
      t.strictSame(JSON.parse(JSON.stringify(facts)), readJson(factsSnapshot, expected));
    } else {
      t.equal(facts, null, 'no facts gathered, no facts upload');
    }
  });
}

t.test('volatile fields come from the context', async (t) => {
  const input = readJson('smart_proxy_reports-ansible-package-install-success.json') as Record<string, unknown>;
  const { host_report: report } = ansibleReportToHostReport(input, makeContext({ proxy: 'hub-1' }));
  t.equal(report.proxy, 'hub-1');
  t.equal(report.body.proxy, 'hub-1');
  t.equal(report.reported_at, '2024-05-06 07:08:09 UTC', 'upstream writes Ruby Time#to_s in UTC');
  t.equal(report.body.reported_at_proxy, report.reported_at);
  t.equal(report.body.reported_at, input['reported_at']);
  t.equal(report.body.id, 'event-1', 'no uuid in the upload: the event id');

  const puppet = puppetReportToHostReport(
    parseRubyYaml(readText('smart_proxy_reports-puppet-file-failure.yaml')),
    makeContext(),
  );
  t.equal(puppet.host_report.body.id, 'eeb1096c-bde1-480e-80d7-6ca85f640d52', 'transaction_uuid wins');
});

t.test('ruby YAML', async (t) => {
  const yaml = [
    '--- !ruby/object:Puppet::Transaction::Report',
    'host: h',
    'noop: false',
    'logs:',
    '- !ruby/object:Puppet::Util::Log',
    '  level: :notice',
    '- level: !ruby/sym err',
  ].join('\n');
  const expected = { host: 'h', noop: false, logs: [{ level: 'notice' }, { level: 'err' }] };
  t.strictSame(parseRubyYaml(yaml), expected, 'tags dropped, symbols become names');
  t.throws(() => parseRubyYaml('host: [unclosed\n'), { code: 'PROXYHUB_INPUT_MALFORMED', field: 'body' }, 'syntax error throws');
  t.throws(() => parseRubyYaml('host: a\n---\nhost: b\n'), { code: 'PROXYHUB_INPUT_MALFORMED', field: 'body' }, 'one document only');
  // "billion laughs": every level repeats the previous one ten times
  const level = (name: string, item: string): string => `${name}: &${name} [${Array(10).fill(item).join(', ')}]\n`;
  const bomb = level('a', 'lol') + level('b', '*a') + level('c', '*b') + level('d', '*c');
  t.throws(() => parseRubyYaml(bomb), { code: 'PROXYHUB_INPUT_MALFORMED', field: 'body' }, 'alias expansion is capped');
  t.strictSame(parseRubyYaml('a: &a [1]\nb: *a\n'), { a: [1], b: [1] }, 'a few aliases are fine');
});

t.test('YAML aliases: many anchors side by side, each under the per-anchor cap, may not grow the report past 4 × its body', async (t) => {
  // 40 anchors of 40 lines each, every one aliased 99 times (the per-anchor cap is 100): ~110 KB of
  // YAML whose JSON would be ~7 MB, written on the ingress's loop when the event is built.
  const line = 'x'.repeat(40);
  const anchor = (i: number, aliases: number): string =>
    `a${i}: &a${i}\n${Array.from({ length: 40 }, (_, j) => `  - ${line}${j}\n`).join('')}b${i}:\n${`  - *a${i}\n`.repeat(aliases)}`;
  const anchors = Array.from({ length: 40 }, (_, i) => anchor(i, 99));
  const wide = `host: hosta.example.com\n${anchors.join('')}`;
  t.ok(wide.length < 200_000, `${wide.length} bytes of YAML`);
  t.throws(() => parseRubyYaml(wide), { code: 'PROXYHUB_INPUT_TOO_LARGE', field: 'body' }, 'refused before anything writes it out');
  // The same shape with a few aliases per anchor, as Psych writes for an object held twice, passes.
  const modest = `host: hosta.example.com\n${Array.from({ length: 40 }, (_, i) => anchor(i, 2)).join('')}`;
  const parsed = parseRubyYaml(modest) as Record<string, unknown[]>;
  t.equal(parsed.b7?.length, 2);
  t.equal(parsed.b7?.[1], parsed.a7, 'aliases stay shared objects');
  t.throws(() => parseRubyYaml('a: &a\n  - 1\n  - *a\n'), { code: 'PROXYHUB_INPUT_MALFORMED', field: 'body' }, 'a node that holds itself is refused, not walked for ever');
});

t.test('YAML merge keys copy their map on every use: counted before toJS builds the copies', async (t) => {
  // 5 anchors of 200 keys, each merged 99 times: ~45 KB of YAML, ~4 MB of copies.
  const map = (i: number): string => `m${i}: &m${i}\n${Array.from({ length: 200 }, (_, j) => `  key${j}: value${j}\n`).join('')}`;
  const merges = (i: number, count: number): string => Array.from({ length: count }, (_, k) => `u${i}_${k}:\n  <<: *m${i}\n`).join('');
  const body = (count: number): string => `host: hosta.example.com\n${Array.from({ length: 5 }, (_, i) => map(i) + merges(i, count)).join('')}`;
  t.throws(() => parseRubyYaml(body(99)), { code: 'PROXYHUB_INPUT_TOO_LARGE', field: 'body' }, `${body(99).length} bytes merged 99 times each`);
  const few = parseRubyYaml(body(2)) as Record<string, Record<string, string>>;
  t.equal(few.u3_1?.key199, 'value199', 'a merge as Psych reads it');
  t.throws(() => parseRubyYaml('a: &a\n  x: 1\n  b:\n    <<: *a\n'), { field: 'body', code: 'PROXYHUB_INPUT_MALFORMED' }, 'a map merged into itself');
});

t.test('YAML aliases of strings count as the JSON they become: escapes and UTF-8 included', async (t) => {
  // "\0" is two bytes of YAML and six of JSON (\u0000): 99 references of a 700-character anchor
  // make ~416 KB of JSON from ~1.8 KB, where counting characters alone would find ~70 KB, under the
  // 64 KiB allowance plus 4 × the body.
  const escaped = `host: hosta.example.com\ns: &s "${'\\0'.repeat(700)}"\nl: [${Array(99).fill('*s').join(', ')}]\n`;
  t.throws(() => parseRubyYaml(escaped), { code: 'PROXYHUB_INPUT_TOO_LARGE', field: 'body' }, `${escaped.length} bytes`);
});

t.test('a report without host is invalid', async (t) => {
  const puppet = parseRubyYaml(readText('smart_proxy_reports-puppet-file-failure.yaml')) as Record<string, unknown>;
  const ansible = readJson('smart_proxy_reports-ansible-acl-succes.json') as Record<string, unknown>;
  for (const convert of [
    () => puppetReportToHostReport({ ...puppet, host: undefined }, makeContext()),
    () => ansibleReportToHostReport({ ...ansible, host: null }, makeContext()),
    () => ansibleFactsFromReport({ ...ansible, host: '' }),
  ]) {
    t.throws(convert, { name: 'ProxyhubError', code: 'PROXYHUB_EVENT_INVALID', field: 'host' });
  }
  t.throws(() => puppetReportToHostReport(null, makeContext()), { name: 'ProxyhubError', code: 'PROXYHUB_EVENT_INVALID', field: 'report' });
});

t.test('no facts gathered, no facts upload', async (t) => {
  t.equal(ansibleFactsFromReport(readJson('smart_proxy_reports-ansible-package-install-failure.json')), null);
  t.equal(ansibleFactsFromReport({ host: 'h', results: [{ result: { changed: false }, task: {} }] }), null);
});

t.test('unreadable sections are reported, not fatal', async (t) => {
  const puppet = puppetReportToHostReport({ host: 'h', status: 'failed' }, makeContext());
  t.strictSame(puppet.host_report.body.errors, ['Unable to parse summary counts: metrics.events.values is not a list']);
  t.strictSame([puppet.host_report.change, puppet.host_report.nochange, puppet.host_report.failure], [0, 0, 0]);

  const ansible = ansibleReportToHostReport({ host: 'h', results: [{ result: { changed: true } }] }, makeContext());
  t.strictSame(ansible.host_report.body.errors, [
    "Unable to parse results: Report do not contain required 'results/task' element",
  ]);
});

t.test('friendly messages', async (t) => {
  const makeResult = (moduleArgs: unknown): Record<string, unknown> =>
    moduleArgs === undefined
      ? { changed: true, msg: 'boom' }
      : { changed: true, msg: 'boom', invocation: { module_args: moduleArgs } };
  const messageOf = (action: string, moduleArgs: unknown, failed = false): unknown => {
    const results = [{ failed, result: makeResult(moduleArgs), task: { action } }];
    const report = ansibleReportToHostReport({ host: 'h', results }, makeContext());
    return (report.host_report.body.results as Array<{ friendly_message: unknown }>)[0]?.friendly_message;
  };
  const seboolean = { name: 'httpd_use_nfs', state: true, persistent: false };
  const expected = 'Set httpd_use_nfs flag on, do notkeep it persistent across reboots';
  t.equal(messageOf('ansible.posix.seboolean', seboolean), expected, "upstream's text, missing space included");
  t.equal(messageOf('seboolean', seboolean), expected, 'bare module name');
  t.equal(messageOf('ansible.builtin.seboolean', seboolean), 'N/A', 'wrong collection');
  const packages = { name: Array.from({ length: 12 }, (_, i) => `p${i}`) };
  const tenAndMore = 'Package(s) p0, p1, p2, p3, p4, p5, p6, p7, p8, p9 and more are present';
  t.equal(messageOf('ansible.builtin.package', packages), tenAndMore);
  t.equal(messageOf('ansible.builtin.systemd', undefined), 'N/A', 'no module_args');
  t.equal(messageOf('ansible.builtin.systemd', {}, true), 'boom', 'a failure shows its msg');
});
