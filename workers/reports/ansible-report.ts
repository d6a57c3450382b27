import { RubyRaise, invalidReport, field, isRecord, reportId, requireHost, rescued } from './host-report.ts';
import { rubyUtcTimestamp, toHostReport, truthy } from './host-report.ts';
import { rubyConcat as plus, rubyOr as either, rubyToS as s } from './host-report.ts';
import type { AnsibleReportBody, ForemanCounts, HostReport, PlainRecord, ReportContext } from './host-report.ts';

/** What `POST /api/v2/hosts/facts` receives for a run that gathered facts. */
export interface AnsibleFactsUpload {
  name: string;
  facts: Record<string, unknown>;
}

type Lookup = (key: string) => unknown;
type MessageFn = (result: Lookup, args: Lookup) => unknown;

// Reading a field of a missing tree raises in Ruby, which turns the message into "N/A".
const lookupIn =
  (tree: unknown): Lookup =>
  (key) => {
    if (!isRecord(tree)) throw new RubyRaise('undefined method [] for nil');
    return field(tree, key);
  };

/** Upstream's `human_readable_array`: ten names, then " and more". */
function humanList(names: unknown): string | null {
  if (names === null) return null;
  if (!Array.isArray(names)) throw new RubyRaise('undefined method join');
  const join = (items: unknown[]): string => items.flat(Infinity).map(s).join(', ');
  return names.length > 10 ? `${join(names.slice(0, 10))} and more` : join(names);
}

const FILE_TIME_FORMATS = ['access_time_format', 'modification_time_format'];
const FILE_FLAGS = ['force', 'recurse', 'unsafe_writes'];
const FILE_ATTRIBUTES = [
  ...['access_time', 'attributes', 'group', 'mode', 'modification_time', 'owner'],
  ...['selevel', 'serole', 'setype', 'seuser', 'src'],
];
const CRON_FIELDS = ['minute', 'hour', 'day', 'month', 'weekday', 'job'];

function fileMessage(_r: Lookup, a: Lookup): string {
  const changed = [
    ...(truthy(a('follow')) ? [] : ['follow']),
    ...(a('state') === 'file' ? [] : ['state']),
    ...FILE_TIME_FORMATS.filter((key) => a(key) !== '%Y%m%d%H%M.%S'),
    ...FILE_FLAGS.filter((key) => truthy(a(key))),
    ...FILE_ATTRIBUTES.filter((key) => a(key) !== null),
  ];
  return `${s(a('path'))} attributes changed: ${s(humanList(changed))}`;
}

const packageMessage: MessageFn = (_r, a) =>
  `Package(s) ${s(humanList(a('name')))} are ${a('state') === null ? 'present' : s(a('state'))}`;

function atMessage(_r: Lookup, a: Lookup): string {
  const scheduled = truthy(a('count')) && truthy(a('units'));
  const time = scheduled ? ` in ${s(a('count'))} ${s(a('units'))}` : '';
  const state = plus(scheduled ? 'will be ' : 'is ', a('state'));
  return `${s(either(a('script_file'), a('command')))} ${state}${time}`;
}

function mountMessage(_r: Lookup, a: Lookup): string {
  const backup = truthy(a('backup')) ? 'backup created' : 'no backup';
  const boot = truthy(a('boot')) ? ', mounted on boot' : '';
  return `Mountpoint ${s(either(a('path'), a('name')))} ${s(a('state'))}, ${backup}${boot}`;
}

function sysctlMessage(_r: Lookup, a: Lookup): string {
  const value = either(a('value'), a('val'));
  const to = value === '' ? '' : plus(' to ', value);
  const present = a('state') === 'present';
  const path = plus(present ? 'in ' : 'from ', a('sysctl_file'));
  const verify = truthy(a('sysctl_set')) ? ', verify token value with the sysctl command' : '';
  const ignore = truthy(a('ignoreerrors')) ? ', errors ignored' : '';
  return `${present ? 'Set' : 'Remove'} ${s(a('name'))}${to} ${path}${verify}${ignore}`;
}

function patchMessage(_r: Lookup, a: Lookup): string {
  const given = either(a('src'), a('patchfile'));
  const src = truthy(a('remote_src')) ? plus(given, ' (from remote machine)') : s(given);
  const basedir = truthy(a('basedir')) ? `, applied in ${s(a('basedir'))}` : '';
  const dest = truthy(a('dest')) ? `, file ${s(a('dest'))} to be patched` : '';
  const backup = truthy(a('backup')) ? ', backup produced' : '';
  return `${a('state') === 'present' ? 'Apply' : 'Revert'} patch ${src}${basedir}${dest}${backup}`;
}

// The texts are upstream's, as Foreman users know them (including "do notkeep").
const BUILTIN_MESSAGES: Readonly<Record<string, MessageFn>> = {
  assemble: (r) => `Concatenation of ${s(r('src'))} into ${s(r('dest'))}`,
  dnf: packageMessage,
  package: packageMessage,
  git: (_r, a) =>
    truthy(a('clone'))
      ? `Repository ${s(a('repo'))} cloned into ${s(a('dest'))}`
      : `Check if clone of ${s(a('repo'))} exists`,
  file: fileMessage,
  systemd: (_r, a) => `Service ${s(a('name'))} ${s(a('state'))}`,
  tempfile: (r) => `Temporary ${s(r('state'))} created: ${s(r('path'))}`,
  known_hosts: (_r, a) => `${s(a('name'))} is ${s(a('state'))} in ${s(a('path'))}`,
  pip: (_r, a) => `Package(s) ${humanList(a('name')) ?? `contained in ${s(a('requirements'))}`} are ${s(a('state'))}`,
  template: (r, a) => `Render template ${s(a('_original_basename'))} to ${s(r('dest'))}`,
  service: (r) => `Service ${s(r('name'))} is ${s(r('state'))} and enabled: ${s(r('enabled'))}`,
  unarchive: (_r, a) => `Archive ${s(a('src'))} unpacked into ${s(a('dest'))}`,
  group: (r) => `User group ${s(r('name'))} is ${s(r('state'))} with gid: ${s(r('gid'))}`,
  user: (r) => `User ${s(r('name'))} is ${s(r('state'))} with uid: ${s(r('uid'))}`,
  cron: (_r, a) => `Cron job: ${CRON_FIELDS.map((k) => s(a(k))).join(' ')} and disabled: ${s(a('disabled'))}`,
  copy: (r, a) => `Copy ${s(a('_original_basename'))} to ${s(r('dest'))}`,
  command: (r) => r('stdout_lines'),
  shell: (r) => r('stdout_lines'),
};
const POSIX_MESSAGES: Readonly<Record<string, MessageFn>> = {
  authorized_key: (_r, a) => `Key ${s(a('key'))} ${s(a('state'))} for user ${s(a('user'))}`,
  acl: (r) => r('msg'),
  at: atMessage,
  firewalld: (r) => r('msg'),
  mount: mountMessage,
  seboolean: (_r, a) =>
    `Set ${s(a('name'))} flag ${truthy(a('state')) ? 'on' : 'off'}, ` +
    `${truthy(a('persistent')) ? '' : 'do not'}keep it persistent across reboots`,
  selinux: (r) => r('msg'),
  sysctl: sysctlMessage,
  patch: patchMessage,
};

/** Modules are named bare (`copy`) or by their collection (`ansible.builtin.copy`). */
function messageFor(action: string): MessageFn | undefined {
  const dot = action.lastIndexOf('.');
  const [collection, name] = [action.slice(0, Math.max(dot, 0)), action.slice(dot + 1)];
  const builtin = Object.hasOwn(BUILTIN_MESSAGES, name) ? BUILTIN_MESSAGES[name] : undefined;
  const posix = Object.hasOwn(POSIX_MESSAGES, name) ? POSIX_MESSAGES[name] : undefined;
  if (dot === -1) return builtin ?? posix;
  return collection === 'ansible.builtin' ? builtin : collection === 'ansible.posix' ? posix : undefined;
}

function friendlyMessage(entry: PlainRecord): unknown {
  const action = field(entry['task'], 'action');
  if (action === null) return 'N/A';
  const result = lookupIn(entry['result']);
  const args = lookupIn(field(field(entry['result'], 'invocation'), 'module_args'));
  try {
    if (truthy(entry['failed'])) return result('msg');
    const message = typeof action === 'string' ? messageFor(action) : undefined;
    return message ? message(result, args) : 'N/A';
  } catch (error: unknown) {
    if (error instanceof RubyRaise) return 'N/A';
    throw error;
  }
}

/** Adds `level` and `friendly_message` to one task result; counts it and adds its keywords. */
function convertResult(entry: unknown, counts: ForemanCounts, keywords: Set<string>): PlainRecord {
  // Upstream's wording, which ends up in the report's `errors`.
  if (!isRecord(entry) || !truthy(entry['result'])) {
    throw new RubyRaise("Report do not contain required 'results/result' element");
  }
  if (!truthy(entry['task'])) throw new RubyRaise("Report do not contain required 'results/task' element");
  const failed = truthy(entry['failed']);
  const changed = truthy(field(entry['result'], 'changed'));
  const level = failed ? 'err' : changed ? 'notice' : 'info';
  const converted = { ...entry, level, friendly_message: friendlyMessage(entry) };
  if (failed) keywords.add('AnsibleFailure').add(`AnsibleFailure:${s(field(entry['task'], 'action'))}`);
  else if (changed) keywords.add('AnsibleChanged');
  counts[changed ? 'change' : 'nochange'] += 1;
  if (failed) counts.failure += 1;
  return converted;
}

/** A bad entry stops the loop: the entries after it go on unconverted, as upstream sends them. */
function convertResults(results: unknown, counts: ForemanCounts, keywords: Set<string>, errors: string[]): unknown {
  if (results === null || results === undefined) return null;
  if (!Array.isArray(results)) {
    errors.push('Unable to parse results: results is not a list');
    return results;
  }
  const converted: unknown[] = [...(results as unknown[])];
  rescued(errors, 'results', undefined, () => {
    results.forEach((entry: unknown, index) => (converted[index] = convertResult(entry, counts, keywords)));
  });
  return converted;
}

/** foreman-ansible-modules before 3.x sends `status` instead of `summary`. */
function nativeSummary(report: PlainRecord): Record<string, unknown> {
  const { summary, status } = report;
  if (truthy(summary)) return isRecord(summary) ? summary : {};
  if (!truthy(status)) return {};
  const count = (key: string): unknown => either(field(status, key), 0);
  const [changed, failures, skipped] = [count('applied'), count('failed'), count('skipped')];
  return { changed, failures, ignored: 0, ok: 0, rescued: 0, skipped, unreachable: 0 };
}

function buildBody(report: PlainRecord, host: string, ctx: ReportContext): AnsibleReportBody {
  const counts: ForemanCounts = { change: 0, nochange: 0, failure: 0 };
  const keywords = new Set<string>();
  const errors: string[] = [];
  const results = convertResults(report['results'], counts, keywords, errors);
  // Upstream also looks for summary-wide keywords, but under keys its summary never has
  // (`changed` beside `foreman`/`native`), so none ever appear; left out to match.
  return {
    format: 'ansible',
    id: reportId(report['uuid'], ctx),
    host,
    proxy: ctx.proxy,
    reported_at: field(report, 'reported_at'),
    reported_at_proxy: rubyUtcTimestamp(ctx.reportedAtProxy),
    results,
    summary: { foreman: counts, native: nativeSummary(report) },
    keywords: [...keywords],
    telemetry: {},
    ...(errors.length > 0 ? { errors } : {}),
    check_mode: field(report, 'check_mode'),
  };
}

function requireReport(report: unknown): PlainRecord {
  if (!isRecord(report)) throw invalidReport('report', 'Ansible report is not a JSON object');
  return report;
}

/**
 * Convert an Ansible callback report into the host report smart_proxy_reports would send to
 * Foreman. The input is not modified.
 *
 * @throws ProxyhubError PROXYHUB_EVENT_INVALID when the upload is not an object or has no host.
 */
export function ansibleReportToHostReport(report: unknown, ctx: ReportContext): HostReport<AnsibleReportBody> {
  const data = requireReport(report);
  return toHostReport(buildBody(data, requireHost(data), ctx));
}

/**
 * The facts upload for a run whose results include gathered `ansible_facts` (the first such
 * task wins); null when no task gathered facts.
 *
 * @throws ProxyhubError PROXYHUB_EVENT_INVALID when facts exist but the report has no host.
 */
export function ansibleFactsFromReport(report: unknown): AnsibleFactsUpload | null {
  const data = requireReport(report);
  const results = data['results'];
  if (!Array.isArray(results)) return null;
  const facts = results.map((entry: unknown) => field(field(entry, 'result'), 'ansible_facts')).find(truthy);
  if (facts === undefined) return null;
  const timestamp = field(data, 'reported_at');
  return { name: requireHost(data), facts: { ansible_facts: facts, _type: 'ansible', _timestamp: timestamp } };
}
