/**
 * The `POST /api/v2/host_reports` payload that smart_proxy_reports builds, and the Ruby
 * semantics its processors rely on, so the puppet and ansible converters stay byte-compatible.
 */
import { ProxyhubError } from '../../contracts/errors.ts';

export const REPORT_FORMATS = ['puppet', 'ansible'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

/** What the conversion knows besides the upload itself. */
export interface ReportContext {
  /** The proxy's name as Foreman knows it (upstream: `reported_proxy_hostname`). */
  proxy: string;
  /** ISO 8601 time the hub received the upload. */
  reportedAtProxy: string;
  /** Event id; the report id when the upload carries no uuid of its own. */
  id: string;
}

export interface ForemanCounts {
  change: number;
  nochange: number;
  failure: number;
}

export interface ReportSummary {
  foreman: ForemanCounts;
  native: Record<string, unknown>;
}

interface BodyCommon {
  id: string;
  host: string;
  proxy: string;
  /** The client's own timestamp, passed through untouched. */
  reported_at: unknown;
  reported_at_proxy: string;
  summary: ReportSummary;
  keywords: string[];
  /** Upstream's processing timings; the pure converters have none to give. */
  telemetry: Record<string, number>;
  /** Present only when part of the upload could not be read; the rest is still sent. */
  errors?: string[];
}

/** [level, source, message] */
export type PuppetLogLine = [string | null, unknown, unknown];

export interface PuppetReportBody extends BodyCommon {
  format: 'puppet';
  report_format: unknown;
  puppet_version: unknown;
  environment: unknown;
  metrics: unknown;
  logs: PuppetLogLine[];
  resource_statuses: string[];
  /** [resource, seconds], slowest first; seconds as the report gave them. */
  evaluation_times: Array<[string, unknown]>;
}

export interface AnsibleReportBody extends BodyCommon {
  format: 'ansible';
  results: unknown;
  check_mode: unknown;
}

export type HostReportBody = PuppetReportBody | AnsibleReportBody;

export interface HostReport<B extends HostReportBody = HostReportBody> {
  host_report: {
    format: B['format'];
    version: 1;
    host: string;
    reported_at: string;
    proxy: string;
    body: B;
    keywords: string[];
    change: number;
    nochange: number;
    failure: number;
  };
}

/**
 * A report no converter can turn into a host report: permanent (retrying the same upload can
 * never succeed), so it is dead-lettered. `field` names the unusable part, e.g. `host`.
 */
export function invalidReport(field: string, message: string): ProxyhubError {
  return new ProxyhubError('PROXYHUB_EVENT_INVALID', message, { field });
}

/**
 * The JSON text to POST. Upstream sends `body` JSON-encoded as a string unless the client
 * asked for `json_body=false` (then as an object, like the snapshots); Foreman takes both.
 */
export function serializeHostReport(report: HostReport, jsonBody: boolean): string {
  if (!jsonBody) return JSON.stringify(report);
  const { body, ...rest } = report.host_report;
  return JSON.stringify({ host_report: { ...rest, body: JSON.stringify(body) } });
}

export type PlainRecord = Record<string, unknown>;

export function isRecord(value: unknown): value is PlainRecord {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Field lookup that, like the Ruby code, reads a missing key and a non-map alike as nil. */
export function field(container: unknown, key: string): unknown {
  return isRecord(container) && Object.hasOwn(container, key) ? container[key] : null;
}

/** Ruby truthiness: only nil and false are false (0 and "" are true). */
export function truthy(value: unknown): boolean {
  return value !== null && value !== undefined && value !== false;
}

/** Ruby string interpolation (`to_s`): nil is empty, arrays and hashes print as `inspect`. */
export function rubyToS(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  return rubyInspect(value);
}

function rubyInspect(value: unknown): string {
  if (value === null || value === undefined) return 'nil';
  if (typeof value === 'string') return JSON.stringify(value).replace(/#(?=[{$@])/g, '\\#');
  if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value).toString();
  if (Array.isArray(value)) return `[${value.map(rubyInspect).join(', ')}]`;
  if (isRecord(value)) {
    const pairs = Object.entries(value).map(([k, v]) => `${rubyInspect(k)}=>${rubyInspect(v)}`);
    return `{${pairs.join(', ')}}`;
  }
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- the scalars left (booleans, fractions) print as Ruby's inspect does
  return String(value);
}

/** Ruby's `Time#to_s` for a UTC time ("2022-01-20 14:16:26 UTC"), the proxy's timestamp form. */
export function rubyUtcTimestamp(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) {
    throw new ProxyhubError('PROXYHUB_EVENT_INVALID', `reportedAtProxy is not an ISO 8601 time: ${iso}`, { field: 'time' });
  }
  return `${date.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** The host the report is filed under; without it Foreman cannot place the report. */
export function requireHost(report: PlainRecord): string {
  const host = report['host'];
  if (typeof host !== 'string' || host === '') {
    throw invalidReport('host', 'report has no host name');
  }
  return host;
}

/** The upload's own id when it has one, else the event id (upstream generates a uuid). */
export function reportId(candidate: unknown, ctx: ReportContext): string {
  return typeof candidate === 'string' && candidate !== '' ? candidate : ctx.id;
}

/**
 * Stands for an exception the Ruby processor raises and then rescues: the part it was reading
 * is dropped or replaced by a fallback, and the report is still sent. Never leaves this module
 * group; a converter that cannot produce a report at all throws invalidReport() instead. A class
 * of its own, not a catalog code, because `rescued()` must catch exactly these and let every
 * other error (a ProxyhubError included) end the conversion.
 */
export class RubyRaise extends Error {
  override readonly name = 'RubyRaise';
}

/**
 * Runs one section of the conversion; when it raises, records upstream's
 * "Unable to parse <what>: <reason>" in `errors` and answers the fallback.
 */
export function rescued<T>(errors: string[], what: string, fallback: T, run: () => T): T {
  try {
    return run();
  } catch (error: unknown) {
    if (!(error instanceof RubyRaise)) throw error;
    errors.push(`Unable to parse ${what}: ${error.message}`);
    return fallback;
  }
}

/** Ruby `a || b`. */
export function rubyOr(a: unknown, b: unknown): unknown {
  return truthy(a) ? a : b;
}

/** Ruby `String#+`: raises unless both sides are strings. */
export function rubyConcat(left: unknown, right: unknown): string {
  if (typeof left !== 'string' || typeof right !== 'string') throw new RubyRaise('no implicit conversion into String');
  return left + right;
}

/** The envelope around a body; the root repeats the body's host, proxy, keywords and counts. */
export function toHostReport<B extends HostReportBody>(body: B): HostReport<B> {
  const { format, host, proxy, keywords, reported_at_proxy: reportedAt } = body;
  const { change, nochange, failure } = body.summary.foreman;
  const root = { format, version: 1 as const, host, reported_at: reportedAt, proxy };
  return { host_report: { ...root, body, keywords, change, nochange, failure } };
}
