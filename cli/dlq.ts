/**
 * `proxyhub dlq list|show|replay`: the dead-letter service (hub/control/dead-letters.ts) with
 * filters, a table, JSON output and a progress bar.
 */
import { createTopology } from '../contracts/topology.ts';
import { deadLetterFilterSchema, type DeadLetterFilter } from '../hub/control/dead-letter-filter.ts';
import { createDeadLetterService, type DeadLetterService, type DeadLetterSummary } from '../hub/control/dead-letters.ts';
import { loadConfig } from '../hub/config/load.ts';
import { createBusTransport } from '../hub/bus/transport-factory.ts';
import { exitCodes, usageError } from './exit-codes.ts';
import { createProgress } from './progress.ts';
import { formatTable } from './table.ts';

export function deadLetterService(): DeadLetterService {
  const config = loadConfig();
  const bus = createBusTransport({ url: config.amqpUrl, transport: config.transport, addressScheme: config.amqp10.addressScheme });
  return createDeadLetterService(async () => (await bus).openQueueBrowser(), createTopology(config.prefix));
}

/** A progress bar per feature queue on stderr. */
export function replayProgressBar(): Parameters<DeadLetterService['replay']>[1] {
  let bar: ReturnType<typeof createProgress> | undefined;
  return {
    start: (feature, total) => (bar = createProgress(`replay ${feature}`, total)),
    step: (replayed) => bar?.tick(`${replayed} replayed`),
    end: () => bar?.done(),
  };
}

export function formatDeadLetters(rows: readonly DeadLetterSummary[]): string {
  if (rows.length === 0) return 'no dead letters';
  const body = rows.map((r) => [r.id, r.feature, r.type, r.code, r.upstreamStatus === undefined ? '-' : String(r.upstreamStatus), String(r.attempts), r.failedAt, r.reason.replace(/\s+/g, ' ').slice(0, 80)]);
  return formatTable(['ID', 'FEATURE', 'TYPE', 'CODE', 'STATUS', 'ATTEMPTS', 'FAILED AT', 'REASON'], body);
}

const AGE = /^(\d+)(s|m|h|d)$/;
const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** `--since` as an ISO time, or an age (`30m`, `2h`, `7d`) counted back from `now`. */
export function sinceOf(value: string, now: Date = new Date()): string {
  const age = AGE.exec(value);
  if (age) return new Date(now.getTime() - Number(age[1]) * UNIT_MS[age[2] as keyof typeof UNIT_MS]).toISOString();
  if (Number.isNaN(Date.parse(value))) throw usageError(`--since ${value}: give an ISO time or an age such as 30m, 2h or 7d`);
  return new Date(value).toISOString();
}

export interface DlqFlags {
  readonly feature?: string | undefined;
  readonly limit?: string | undefined;
  readonly code?: string | undefined;
  readonly type?: string | undefined;
  readonly status?: string | undefined;
  readonly since?: string | undefined;
  readonly id?: string[] | undefined;
  readonly all: boolean;
  readonly json: boolean;
}

function filterOf(flags: DlqFlags): DeadLetterFilter {
  const parsed = deadLetterFilterSchema.safeParse({ code: flags.code, type: flags.type, status: flags.status, since: flags.since === undefined ? undefined : sinceOf(flags.since) });
  if (!parsed.success) throw usageError(`bad filter: ${parsed.error.issues.map((issue) => `--${issue.path.join('.')} ${issue.message}`).join('; ')}`);
  return parsed.data;
}

function limitOf(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const limit = Number(value);
  if (!Number.isInteger(limit) || limit < 1) throw usageError(`--limit ${value}: give a whole number above 0`);
  return limit;
}

const print = (text: string): void => void process.stdout.write(`${text}\n`);

export async function runDlq(action: string | undefined, rest: readonly string[], flags: DlqFlags): Promise<number> {
  const query = { feature: flags.feature, limit: limitOf(flags.limit), ...filterOf(flags) };
  switch (action) {
    case 'list': {
      const rows = await deadLetterService().list(query);
      print(flags.json ? JSON.stringify(rows, null, 2) : formatDeadLetters(rows));
      return exitCodes.ok.code;
    }
    case 'show': {
      const id = rest[0];
      if (!id) throw usageError('dlq show needs an event id');
      const found = await deadLetterService().show(id, { feature: flags.feature });
      if (!found) {
        process.stderr.write(`no dead letter with id ${id}\n`);
        return exitCodes.notFound.code;
      }
      print(JSON.stringify(found, null, 2));
      return exitCodes.ok.code;
    }
    case 'replay': {
      if (!flags.all && (flags.id === undefined || flags.id.length === 0)) throw usageError('name the events to replay with --id (repeatable) or pass --all');
      const result = await deadLetterService().replay({ ...query, ids: flags.id, all: flags.all }, replayProgressBar());
      print(flags.json ? JSON.stringify(result) : `replayed ${result.replayed}, left ${result.kept} in the dead-letter queue`);
      return exitCodes.ok.code;
    }
    default:
      throw usageError(`unknown dlq action ${action ?? '(none)'}: use list, show or replay`);
  }
}
