/**
 * How the ingress answers registration and template clients from a worker's reply. A client of
 * these routes is a shell (curl | bash) or an installer, so a failure must be something it can
 * act on: registration answers a script that prints the reason and exits non-zero; templates
 * answer 502/504 with a plain-text reason (the smart-proxy gives a bare 400 or 500).
 */
import type { FastifyReply } from 'fastify';
import { errorCatalog, type ErrorCode } from '../../contracts/errors.ts';
import type { ForemanReply, ForemanRequestKind } from '../../contracts/rpc/foreman-request.ts';
import { setRetryAfter } from '../http/problem.ts';

const TIMEOUT_CODES = new Set<ErrorCode>(['PROXYHUB_RPC_TIMEOUT']);

function failureStatus(code: ErrorCode): number {
  if (TIMEOUT_CODES.has(code)) return 504;
  // Refusals that retrying later can cure are 503 (with Retry-After); Foreman failing is 502.
  return errorCatalog[code].status === 503 ? 503 : 502;
}

function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** A script `curl … | bash` runs: it says what failed on stderr and exits 1. */
export function failureScript(message: string): string {
  return `#!/bin/sh\necho ${shellQuote(`proxyhub: registration failed: ${message}`)} >&2\nexit 1\n`;
}

export function sendFailure(reply: FastifyReply, kind: ForemanRequestKind, code: ErrorCode, detail: string): FastifyReply {
  const status = failureStatus(code);
  const message = `${errorCatalog[code].title}${detail ? ` (${detail})` : ''}`;
  setRetryAfter(reply, code);
  reply.problemCode = code;
  if (kind === 'register') return reply.code(status).type('text/plain; charset=utf-8').send(failureScript(message));
  return reply.code(status).type('text/plain; charset=utf-8').send(`proxyhub: ${kind} request could not be answered: ${message}\n`);
}

/** Foreman's own answer, passed through; a non-text registration error becomes a script. */
export function sendForemanAnswer(reply: FastifyReply, kind: ForemanRequestKind, answer: Extract<ForemanReply, { status: number }>): FastifyReply {
  const body = Buffer.from(answer.body, 'base64');
  const contentType = answer.contentType ?? 'text/plain';
  const ok = answer.status >= 200 && answer.status < 300;
  if (!ok && kind === 'register' && !contentType.startsWith('text/plain')) {
    return reply.code(answer.status).type('text/plain; charset=utf-8').send(failureScript(`Foreman answered ${answer.status}`));
  }
  if (answer.location) reply.header('location', answer.location);
  return reply.code(answer.status).type(contentType).send(body);
}
