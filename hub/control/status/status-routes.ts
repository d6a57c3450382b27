/**
 * The live status page on the control listener: `GET /status` (the page), `/status/page.js` and
 * `/status/page.css`, `GET /status/state` (its data as JSON), `GET /status/events` (the page's
 * updates as Server-Sent Events) and the read-only REX job board under `/status/jobs/`. It shows
 * host names, instances and failure reasons, so every route of it is protected like
 * `/dead-letters`: trusted_hosts and a client certificate (or a listed address on plain HTTP).
 */
import type { FastifyPluginAsync } from 'fastify';
import type { BaseAdapter } from '@bull-board/api/baseAdapter';
import { STATUS_SSE_EVENT, type StatusDocument } from '../../../contracts/http/status-page.ts';
import { createEventStreams } from '../event-streams.ts';
import { createJobBoard, forwardToBoard, JOB_BOARD_PATH } from './job-board.ts';
import { STATUS_PAGE_SCRIPT, STATUS_PAGE_STYLE } from './status-assets.ts';
import type { StatusFeed } from './status-feed.ts';
import { renderStatusPage, STATUS_PAGE_CSP } from './status-page.ts';
import { statusView } from './status-view.ts';

export interface StatusRouteOptions {
  readonly feed: StatusFeed;
  /** The queues the job board shows: read-only and redacted (hub/jobs/rex-job-board.ts). */
  readonly jobBoard: readonly BaseAdapter[];
  /** Event streams served at once (shared limit with the capability stream's setting). */
  readonly maxStreams: number;
}

const protectedRoute = { identity: 'required', trustedHosts: true } as const;

const formatStatusEvent = (document: StatusDocument): string => `event: ${STATUS_SSE_EVENT}\ndata: ${JSON.stringify(statusView(document))}\n\n`;

export const statusRoutes: FastifyPluginAsync<StatusRouteOptions> = async (app, options) => {
  const { feed } = options;
  // A page that stopped reading is dropped rather than buffered for (it reconnects when it reads again).
  const streams = createEventStreams(app, { maxStreams: options.maxStreams, what: 'status event stream' });
  const board = await createJobBoard(options.jobBoard);
  app.addHook('onClose', async () => {
    feed.close();
    await board.close();
  });

  app.get('/status', { config: protectedRoute }, async (_request, reply) => {
    const document = await feed.current();
    return reply.type('text/html; charset=utf-8').header('content-security-policy', STATUS_PAGE_CSP).header('cache-control', 'no-store').send(renderStatusPage(statusView(document), document.prefix));
  });
  app.get('/status/page.js', { config: protectedRoute }, (_request, reply) => reply.type('text/javascript; charset=utf-8').header('cache-control', 'no-cache').send(STATUS_PAGE_SCRIPT));
  app.get('/status/page.css', { config: protectedRoute }, (_request, reply) => reply.type('text/css; charset=utf-8').header('cache-control', 'no-cache').send(STATUS_PAGE_STYLE));
  app.get('/status/state', { config: protectedRoute }, async (_request, reply) => reply.header('cache-control', 'no-store').send(await feed.current()));

  app.get('/status/events', { config: { ...protectedRoute, rateLimit: false } }, (request, reply) => {
    streams.open(request, reply, { subscribe: (write) => feed.subscribe((document) => write(formatStatusEvent(document))) });
  });

  // Reads only: the board's actions (PUT, POST, DELETE) have no route on this listener.
  const boardRoute = { config: protectedRoute, handler: (request: Parameters<typeof forwardToBoard>[1], reply: Parameters<typeof forwardToBoard>[2]) => forwardToBoard(board, request, reply) };
  app.get(JOB_BOARD_PATH, boardRoute);
  app.get(`${JOB_BOARD_PATH}/*`, boardRoute);
};
