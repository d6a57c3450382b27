/**
 * How the ingress answers subscription-manager (rhsm-contract §5, §7, §8). The host acts on what
 * it gets: a 410 with `deletedId` makes it delete its identity, so the hub never makes one up;
 * Katello's own answers pass unchanged. Whatever the hub itself answers carries `displayMessage`,
 * the member subscription-manager prints, as Apache's error documents on a content proxy do.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { errorCatalog, type ErrorCode } from '../../contracts/errors.ts';
import { PROBLEM_CONTENT_TYPE } from '../../contracts/http/problem.ts';
import type { RhsmAnswer } from '../../contracts/rhsm/rhsm-rpc.ts';
import { sendProblem } from '../http/problem.ts';

/**
 * Katello could not answer (down, slow, no worker, the broker unavailable): always 503 with
 * `Retry-After`, the answer a content proxy's Apache gives (§7). Never 410 (the host would drop
 * its identity), never 401 (it may blame its certificate), never 504: subscription-manager
 * retries a 503 at its next run and keeps everything it has.
 */
export function sendRhsmUnavailable(reply: FastifyReply, cause: ErrorCode, detail: string): FastifyReply {
  const message = `${errorCatalog.PROXYHUB_RHSM_UNAVAILABLE.title}: ${errorCatalog[cause].title}${detail ? ` (${detail})` : ''}. Try again later.`;
  return sendProblem(reply, 'PROXYHUB_RHSM_UNAVAILABLE', message, undefined, { cause });
}

/** Katello's answer, passed through: status (204, 304, 410 included), the headers a host reads, body. */
export function sendRhsmAnswer(reply: FastifyReply, answer: RhsmAnswer): FastifyReply {
  for (const [name, value] of Object.entries(answer.headers)) if (value !== undefined) reply.header(name, value);
  reply.code(answer.status);
  const body = Buffer.from(answer.body, 'base64');
  return answer.status === 204 || answer.status === 304 || body.length === 0 ? reply.send() : reply.send(body);
}

/**
 * onSend: every problem+json answer on `/rhsm` (bad input, refusals, limits, 503s) also carries
 * `displayMessage`, the text subscription-manager shows, so a host's log says what happened.
 */
export async function withDisplayMessage(_request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> {
  if (typeof payload !== 'string' || !String(reply.getHeader('content-type') ?? '').startsWith(PROBLEM_CONTENT_TYPE)) return payload;
  try {
    const problem = JSON.parse(payload) as { detail?: unknown; title?: unknown; displayMessage?: unknown };
    if (problem.displayMessage !== undefined) return payload;
    return JSON.stringify({ displayMessage: typeof problem.detail === 'string' ? problem.detail : String(problem.title), ...problem });
  } catch {
    return payload;
  }
}
