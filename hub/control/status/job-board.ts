/**
 * bull-board, read-only, for the REX queues at `/status/jobs/`. It runs in a fastify instance of
 * its own that never listens; the control listener forwards GET requests to it through one
 * protected route. So the board's routes all carry the status page's protection, and nothing but
 * a read ever reaches it (its retry, clean and pause actions are PUT, POST and DELETE, which the
 * control listener does not route here at all, on top of bull-board's own read-only mode). The
 * queues come read-only and redacted from hub/jobs/rex-job-board.ts.
 */
import { createBullBoard } from '@bull-board/api';
import type { BaseAdapter } from '@bull-board/api/baseAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';

export const JOB_BOARD_PATH = '/status/jobs';

/**
 * bull-board's page styles itself inline; scripts run only from here, and the browser may ask
 * nothing of another host.
 */
export const JOB_BOARD_CSP = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'self'; form-action 'none'; frame-ancestors 'none'";

/** Response headers passed on from the board (its own, not hop-by-hop or length ones). */
const FORWARDED_HEADERS = ['content-type', 'cache-control', 'etag', 'last-modified'] as const;

export async function createJobBoard(queues: readonly BaseAdapter[]): Promise<FastifyInstance> {
  const board = Fastify({ logger: false });
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(JOB_BOARD_PATH);
  createBullBoard({ queues, serverAdapter, options: { uiConfig: { boardTitle: 'proxyhub REX jobs' } } });
  await board.register(serverAdapter.registerPlugin(), { prefix: JOB_BOARD_PATH });
  await board.ready();
  return board;
}

/**
 * bull-board's page links its fonts from Google: taken out, so that looking at the board tells no
 * third party who looks (and a closed network does not wait for it); local fonts stand in.
 */
export function withoutRemoteLinks(html: string): string {
  return html.replace(/<link\b[^>]*\bhref="(?:https?:)?\/\/[^"]*"[^>]*>/gi, '');
}

/** Hands one GET to the board and its answer back, with the board's CSP. */
export async function forwardToBoard(board: FastifyInstance, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const answer = await board.inject({ method: 'GET', url: request.url, headers: { accept: request.headers.accept ?? '*/*' } });
  for (const name of FORWARDED_HEADERS) {
    const value = answer.headers[name];
    if (value !== undefined) void reply.header(name, value);
  }
  const html = /^text\/html/.test(String(answer.headers['content-type'] ?? ''));
  return reply
    .code(answer.statusCode)
    .header('content-security-policy', JOB_BOARD_CSP)
    .header('x-content-type-options', 'nosniff')
    .send(html ? withoutRemoteLinks(answer.payload) : answer.rawPayload);
}
