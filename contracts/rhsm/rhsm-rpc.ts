/**
 * What travels between the ingress's `/rhsm` routes and `worker:rhsm` (rhsm-contract §8): the
 * HTTP call a host made, minus everything the host may not choose, plus who the host is as this
 * process verified it. Synchronous calls go as request/reply; the async uploads as the event in
 * contracts/events/rhsm-upload.ts, which carries the same client description.
 */
import { z } from 'zod';
import { errorCatalog } from '../errors.ts';

/** Headers a host's call may carry to Katello: subscription-manager's own set (§5). */
const FORWARDED_HEADERS = new Set(['authorization', 'content-type', 'accept', 'accept-language', 'if-modified-since', 'if-none-match', 'x-correlation-id', 'user-agent', 'x-subscription-manager-version']);

/**
 * The client headers that may be passed on, names lower-cased, repeats joined. An allowlist:
 * Katello takes the host's identity from `X-RHSM-SSL-CLIENT-CERT` first (§3), and Rack maps
 * `X_RHSM_SSL_CLIENT_CERT`, `x-rhsm-ssl-client-cert` and every other spelling to the one variable,
 * so no list of names to drop could be complete. The same goes for `SSL-CLIENT-*` and
 * `X-Forwarded-*`, which the worker sets itself.
 */
export function rhsmForwardedHeaders(headers: Readonly<Record<string, string | readonly string[] | undefined>>): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [rawName, value] of Object.entries(headers)) {
    const name = rawName.toLowerCase();
    if (value === undefined || !FORWARDED_HEADERS.has(name)) continue;
    kept[name] = typeof value === 'string' ? value : value.join(', ');
  }
  return kept;
}

/** The host as the ingress saw it. */
export const rhsmClientSchema = z.strictObject({
  /**
   * PEM of the certificate the host presented and this ingress verified against its CA; absent
   * when the host sent none (registration with credentials or activation keys).
   */
  certificatePem: z.string().max(32_768).optional(),
  /** For X-Forwarded-For. */
  address: z.string().max(64),
  /** The name the host reached the ingress by: X-Forwarded-Host unless a name is configured. */
  host: z.string().max(255),
});
export type RhsmClient = z.infer<typeof rhsmClientSchema>;

const queryPairs = z.array(z.tuple([z.string().max(4096), z.string().max(65_536)])).max(500);

export const rhsmRequestSchema = z.strictObject({
  method: z.enum(['GET', 'POST', 'PUT', 'DELETE']),
  /** The path as the host sent it, `/rhsm…`; the worker resolves and checks it again. */
  path: z.string().startsWith('/rhsm').max(4096),
  query: queryPairs,
  /** Only what `rhsmForwardedHeaders` allows. */
  headers: z.record(z.string(), z.string().max(16_384)),
  /** Base64 of the body, when there is one. */
  body: z.string().optional(),
  client: rhsmClientSchema,
  /** Epoch ms when the ingress gives up: a call picked up later is not made. */
  deadline: z.number().int().positive(),
});
export type RhsmRequest = z.infer<typeof rhsmRequestSchema>;

const errorCodes = Object.keys(errorCatalog) as [keyof typeof errorCatalog, ...(keyof typeof errorCatalog)[]];

/** Katello's headers a host relies on, passed back unchanged (lower-case names). */
export const rhsmAnswerHeaderNames = ['content-type', 'etag', 'last-modified', 'x-candlepin-version', 'retry-after', 'location'] as const;

export const rhsmReplySchema = z.union([
  z.strictObject({
    /** Katello's own status, 204, 304 and 410 included. */
    status: z.number().int().min(100).max(599),
    headers: z.strictObject(Object.fromEntries(rhsmAnswerHeaderNames.map((name) => [name, z.string().max(8192).optional()])) as Record<(typeof rhsmAnswerHeaderNames)[number], z.ZodOptional<z.ZodString>>),
    /** Base64 of Katello's body. */
    body: z.string(),
  }),
  z.strictObject({
    /** Katello could not be asked, or not in time: the ingress answers 503, never a status of its own making. */
    error: z.enum(errorCodes),
    detail: z.string().max(2000),
  }),
]);
export type RhsmReply = z.infer<typeof rhsmReplySchema>;
export type RhsmAnswer = Extract<RhsmReply, { status: number }>;

export const RHSM_REQUEST_TYPE = 'rhsm.request.v1';
export const RHSM_REPLY_TYPE = 'rhsm.reply.v1';
