import { RubyRaise, invalidReport, field, isRecord, reportId, requireHost, rescued } from './host-report.ts';
import { rubyToS, rubyUtcTimestamp, toHostReport, truthy } from './host-report.ts';
import type { HostReport, PlainRecord, PuppetLogLine, PuppetReportBody } from './host-report.ts';
import type { ReportContext, ReportSummary } from './host-report.ts';

/** Foreman shows the slowest resources; the rest are folded into one "Others" entry. */
export const MAX_EVALUATION_TIMES = 29;

type EvaluationTime = [string, unknown];

const STATUS_KEYWORDS: Readonly<Record<string, string>> = {
  changed: 'PuppetStatusChanged',
  unchanged: 'PuppetStatusUnchanged',
  failed: 'PuppetStatusFailed',
};

// Flag-only keywords, in the order upstream checks them for each resource status.
const STATUS_FLAGS = [
  ['corrective_change', 'PuppetCorrectiveChange'],
  ['skipped', 'PuppetSkipped'],
  ['restarted', 'PuppetRestarted'],
  ['scheduled', 'PuppetScheduled'],
  ['out_of_sync', 'PuppetOutOfSync'],
] as const;

function addRootKeywords(report: PlainRecord, keywords: Set<string>): void {
  const status = report['status'];
  const known = typeof status === 'string' && Object.hasOwn(STATUS_KEYWORDS, status);
  const keyword = known ? STATUS_KEYWORDS[status] : undefined;
  if (keyword) keywords.add(keyword);
  // Upstream compares with the string "true", but Puppet writes YAML booleans, so these
  // keywords never appear in practice; kept identical so Foreman sees what the proxy sent.
  if (report['noop'] === 'true') keywords.add('PuppetNoop');
  if (report['noop_pending'] === 'true') keywords.add('PuppetNoopPending');
}

function convertLogs(logs: unknown, lines: PuppetLogLine[]): void {
  if (logs === null || logs === undefined) return;
  if (!Array.isArray(logs)) throw new RubyRaise('logs is not a list');
  for (const [index, log] of logs.entries()) {
    if (!isRecord(log)) throw new RubyRaise(`log ${index} is not a map`);
    const level = field(log, 'level');
    lines.push([level === null ? null : rubyToS(level), field(log, 'source'), field(log, 'message')]);
  }
}

function convertStatuses(
  report: PlainRecord,
  keywords: Set<string>,
  names: string[],
  times: EvaluationTime[],
): void {
  const statuses = report['resource_statuses'];
  if (statuses === null || statuses === undefined) return;
  if (!isRecord(statuses)) throw new RubyRaise('resource_statuses is not a map');
  const environment = report['environment'];
  for (const [name, status] of Object.entries(statuses)) {
    names.push(name);
    if (!isRecord(status)) throw new RubyRaise(`resource status ${name} is not a map`);
    times.push([name, field(status, 'evaluation_time')]);
    if (truthy(status['failed'])) keywords.add(`PuppetFailed:${name}`).add('PuppetFailed');
    if (truthy(status['failed_to_restart'])) {
      keywords.add(`PuppetFailedToRestart:${name}`).add('PuppetFailedToRestart');
    }
    for (const [flag, keyword] of STATUS_FLAGS) if (truthy(status[flag])) keywords.add(keyword);
    if (truthy(environment)) keywords.add(`PuppetEnvironment:${rubyToS(environment)}`);
  }
}

/** Puppet metric `values` are [name, label, value] triples; keep name → value. */
function metricValues(metrics: unknown, metric: string): Record<string, unknown> {
  const values = field(field(metrics, metric), 'values');
  if (!Array.isArray(values)) throw new RubyRaise(`metrics.${metric}.values is not a list`);
  return Object.fromEntries(
    values.map((triple: unknown) => {
      if (!Array.isArray(triple)) throw new RubyRaise(`metrics.${metric}.values holds a non-list`);
      return [rubyToS(triple[0]), triple[2] ?? null];
    }),
  );
}

function summarize(metrics: unknown): ReportSummary {
  const events = metricValues(metrics, 'events');
  const resources = metricValues(metrics, 'resources');
  const { success, failure } = events;
  const total = resources['total'];
  if (typeof success !== 'number' || typeof failure !== 'number' || typeof total !== 'number') {
    throw new RubyRaise('events success/failure or resources total is missing');
  }
  return { foreman: { change: success, nochange: total - failure - success, failure }, native: resources };
}

function compareDescending(a: EvaluationTime, b: EvaluationTime): number {
  const [x, y] = [a[1], b[1]];
  // Ruby's <=> answers nil (and the sort fails) unless both are numbers or both are nil.
  if (x === null && y === null) return 0;
  if (typeof x !== 'number' || typeof y !== 'number' || Number.isNaN(x) || Number.isNaN(y)) {
    throw new RubyRaise('comparison of Array with Array failed'); // Ruby's own wording
  }
  return y > x ? 1 : y < x ? -1 : 0;
}

/** Float sum with Kahan–Babuška compensation, as Ruby's Array#sum does. */
function rubyFloatSum(values: number[]): number {
  let sum = 0;
  let compensation = 0;
  for (const x of values) {
    const t = sum + x;
    // Ruby stops compensating once the sum is infinite (or NaN); so does plain addition.
    if (!Number.isFinite(t)) {
      sum = t;
      continue;
    }
    compensation += Math.abs(sum) >= Math.abs(x) ? sum - t + x : x - t + sum;
    sum = t;
  }
  return sum + compensation;
}

function topEvaluationTimes(times: EvaluationTime[]): EvaluationTime[] {
  const sorted = [...times].sort(compareDescending);
  if (sorted.length <= MAX_EVALUATION_TIMES) return sorted;
  const rest = sorted.slice(MAX_EVALUATION_TIMES).map(([, time]) => time);
  if (!rest.every((time) => typeof time === 'number')) throw new RubyRaise("nil can't be coerced into Float");
  const others = rubyFloatSum(rest);
  const top = sorted.slice(0, MAX_EVALUATION_TIMES);
  return others > 0.0001 ? [...top, ['Others', others]] : top;
}

const emptySummary = (): ReportSummary => ({ foreman: { change: 0, nochange: 0, failure: 0 }, native: {} });

function buildBody(report: PlainRecord, host: string, ctx: ReportContext): PuppetReportBody {
  const keywords = new Set<string>();
  const errors: string[] = [];
  addRootKeywords(report, keywords);
  const logs: PuppetLogLine[] = [];
  rescued(errors, 'logs', undefined, () => convertLogs(report['logs'], logs));
  const names: string[] = [];
  const times: EvaluationTime[] = [];
  rescued(errors, 'resource_statuses', undefined, () => convertStatuses(report, keywords, names, times));
  const summary = rescued(errors, 'summary counts', emptySummary(), () => summarize(report['metrics']));
  const evaluationTimes = rescued(errors, 'evaluation_times', [], () => topEvaluationTimes(times));
  const body: PuppetReportBody = {
    format: 'puppet',
    id: reportId(report['transaction_uuid'], ctx),
    host,
    proxy: ctx.proxy,
    reported_at: field(report, 'time'),
    reported_at_proxy: rubyUtcTimestamp(ctx.reportedAtProxy),
    report_format: field(report, 'report_format'),
    puppet_version: field(report, 'puppet_version'),
    environment: field(report, 'environment'),
    metrics: field(report, 'metrics'),
    logs,
    resource_statuses: names,
    summary,
    evaluation_times: evaluationTimes,
    telemetry: {},
    keywords: [...keywords],
  };
  if (errors.length > 0) body.errors = errors;
  return body;
}

/**
 * Convert a parsed Puppet `Transaction::Report` (see `parseRubyYaml`) into the host report
 * smart_proxy_reports would send to Foreman.
 *
 * @throws ProxyhubError PROXYHUB_EVENT_INVALID when the upload is not a map or has no host.
 */
export function puppetReportToHostReport(report: unknown, ctx: ReportContext): HostReport<PuppetReportBody> {
  if (!isRecord(report)) throw invalidReport('report', 'Puppet report is not a YAML map');
  return toHostReport(buildBody(report, requireHost(report), ctx));
}
