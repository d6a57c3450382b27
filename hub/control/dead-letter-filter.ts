/**
 * Which dead letters an operator means: by catalog code, event type, Foreman's status, or age.
 * Applied while browsing, so `dlq list` shows and `dlq replay --all` replays only those; the rest
 * stay where they are.
 */
import { z } from 'zod';

export const deadLetterFilterSchema = z.object({
  /** Catalog code (`PROXYHUB_FOREMAN_REJECTED`) or the broker's reason (`broker:…`). */
  code: z.string().min(1).optional(),
  /** Event type, e.g. `facts.uploaded.v1`. */
  type: z.string().min(1).optional(),
  /** Foreman's HTTP status when it refused the delivery. */
  status: z.coerce.number().int().min(100).max(599).optional(),
  /** Only dead letters that failed at or after this time. */
  since: z.iso.datetime({ offset: true }).optional(),
});

export type DeadLetterFilter = Partial<Readonly<z.infer<typeof deadLetterFilterSchema>>>;

export function matchesFilter(row: { readonly code: string; readonly type: string; readonly upstreamStatus?: number; readonly failedAt: string }, filter: DeadLetterFilter): boolean {
  if (filter.code !== undefined && row.code !== filter.code) return false;
  if (filter.type !== undefined && row.type !== filter.type) return false;
  if (filter.status !== undefined && row.upstreamStatus !== filter.status) return false;
  // A dead letter without a time (dead-lettered by the broker's delivery limit) is older than any `since`.
  if (filter.since !== undefined && !(Date.parse(row.failedAt) >= Date.parse(filter.since))) return false;
  return true;
}

export const hasFilter = (filter: DeadLetterFilter): boolean => filter.code !== undefined || filter.type !== undefined || filter.status !== undefined || filter.since !== undefined;
