/**
 * The status page's tables as rows of text, built from a status document. The server renders
 * them into the page and sends them on every update, so the page's script only puts text into
 * cells (textContent: nothing from the hub is ever parsed as HTML) and has no logic to drift.
 */
import type { StatusDocument } from '../../../contracts/http/status-page.ts';

export const statusTables = {
  instances: ['Instance', 'Roles', 'Host', 'Version', 'Listeners', 'Last seen'],
  features: ['Feature', 'State', 'Instances'],
  queues: ['Feature', 'Waiting', 'Dead letters', 'Backlog change', 'New dead letters', 'Over'],
  failures: ['Failed at', 'Feature', 'Code', 'Foreman status', 'Reason', 'Attempts', 'Event id'],
  jobs: ['Plan', 'Host', 'State', 'Step', 'Launched', 'Foreman task'],
} as const;
export type StatusTable = keyof typeof statusTables;

export interface StatusView {
  readonly at: string;
  readonly broker: string;
  readonly redis: string;
  readonly jobCounts: string;
  readonly attention: readonly string[];
  readonly rows: Readonly<Record<StatusTable, readonly (readonly string[])[]>>;
}

const count = (value: number | null): string => (value === null ? '–' : String(value));
const signed = (value: number | null): string => (value === null ? '–' : value > 0 ? `+${value}` : String(value));
const probe = (p: { ok: boolean; error?: string | undefined }): string => (p.ok ? 'ok' : `DOWN: ${p.error ?? ''}`);
const secondsAgo = (at: string, now: string): string => `${Math.max(0, Math.round((Date.parse(now) - Date.parse(at)) / 1000))} s ago`;

export function statusView(document: StatusDocument): StatusView {
  const { capabilities, rex } = document;
  const features = Object.entries(capabilities.features).sort(([a], [b]) => a.localeCompare(b));
  return {
    at: document.at,
    broker: probe(document.broker),
    redis: probe(document.redis),
    jobCounts: rex === null ? 'unknown (Redis does not answer)' : `${rex.running} not finished, ${rex.stopped} ended and kept`,
    attention: document.attention,
    rows: {
      instances: capabilities.instances.map((i) => [i.instanceId, i.roles.join(', '), i.hostname, i.version, Object.entries(i.urls).map(([name, url]) => `${name} ${url}`).join(', ') || '–', secondsAgo(i.lastSeen, document.at)]),
      features: features.map(([name, view]) => [name, view?.state ?? '', String(view?.instances.length ?? 0)]),
      queues: document.queues.map((q) => [q.feature, count(q.work), count(q.deadLetters), signed(q.workChange), count(q.deadLettersAdded), q.trendSeconds === null ? '–' : `last ${q.trendSeconds} s`]),
      failures: document.failures.map((f) => [f.failedAt, f.feature, f.code, f.upstreamStatus === undefined ? '–' : String(f.upstreamStatus), f.reason, String(f.attempts), f.id]),
      jobs: (rex?.inFlight ?? []).map((j) => [j.planId, j.host, j.state, j.step, j.launchedAt, j.foremanTask]),
    },
  };
}
