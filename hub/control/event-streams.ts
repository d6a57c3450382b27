/**
 * Server-sent event streams of the control listener (capability changes, the status page): a
 * bounded set of open streams per route, each with keep-alive comments, closed when the listener
 * closes, and dropped instead of buffered for when its client stops reading.
 */
import type { ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sendProblem } from '../http/problem.ts';

/** A comment line this often keeps proxies and load balancers from closing an idle stream. */
const SSE_KEEPALIVE_MS = 15_000;
/**
 * Bytes queued for one subscriber beyond which it is taken to have stopped reading and is
 * dropped: a client that never reads would otherwise make the process keep every event for it.
 * Far above one snapshot or change; a client that reconnects resumes (`Last-Event-ID`).
 */
const SSE_MAX_BUFFERED_BYTES = 1024 * 1024;

export interface EventStreamOpening {
  /** Written right after the headers, in the same tick as the subscription (nothing falls in between). */
  readonly first?: (write: (text: string) => void) => void;
  /** Starts delivering events to `write`; returns how to stop. */
  readonly subscribe: (write: (text: string) => void) => () => void;
}

export interface EventStreams {
  /** Answers 503 past the limit, else hijacks the reply and streams until the client leaves. */
  open(request: FastifyRequest, reply: FastifyReply, opening: EventStreamOpening): void;
}

/** `what` names the streams in the limit's problem and the drop warning ("capability event stream"). */
export function createEventStreams(app: FastifyInstance, options: { readonly maxStreams: number; readonly what: string }): EventStreams {
  const streams = new Set<ServerResponse>();
  // Open streams would hold the listener's close forever.
  app.addHook('preClose', async () => {
    for (const raw of streams) raw.end();
  });
  return {
    open(request, reply, opening) {
      // Checked and taken in the same tick as the stream is added below: no await in between.
      if (streams.size >= options.maxStreams) {
        void sendProblem(reply, 'PROXYHUB_SSE_STREAM_LIMIT', `${options.maxStreams} ${options.what}s are open already (PROXYHUB_MAX_EVENT_STREAMS)`);
        return;
      }
      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
      let unsubscribe = (): void => undefined;
      const release = (): void => {
        clearInterval(keepalive);
        unsubscribe();
        streams.delete(raw);
      };
      const write = (text: string): void => {
        if (raw.destroyed) return;
        raw.write(text);
        if (raw.writableLength <= SSE_MAX_BUFFERED_BYTES) return;
        request.log.warn({ buffered: raw.writableLength }, `${options.what} dropped: the client stopped reading`);
        release();
        raw.destroy();
      };
      opening.first?.(write);
      unsubscribe = opening.subscribe(write);
      const keepalive = setInterval(() => write(': keep-alive\n\n'), SSE_KEEPALIVE_MS);
      streams.add(raw);
      raw.on('close', release);
    },
  };
}
