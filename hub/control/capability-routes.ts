/**
 * Feature discovery as the smart-proxy serves it to Foreman (`/version`, `/features` open;
 * `/v2/features` behind trusted_hosts and a client certificate), plus what the smart-proxy
 * cannot do: `GET /capabilities` (snapshot) and `GET /capabilities/events` (Server-Sent Events:
 * the full state first, then each change; resumable with `Last-Event-ID`).
 */
import type { ServerResponse } from 'node:http';
import type { FastifyPluginAsync } from 'fastify';
import type { SmartProxyFeature } from '../../contracts/capabilities.ts';
import { SSE_CHANGED_EVENT, SSE_SNAPSHOT_EVENT } from '../../contracts/http/capabilities.ts';
import type { CapabilityService, ChangeRecord } from './capability-service.ts';
import { sendProblem } from '../http/problem.ts';
import { runningFeatures, v2Features, versionModules } from './smart-proxy-features.ts';

export interface CapabilityRouteOptions {
  readonly service: CapabilityService;
  /** Features the operator expects (`PROXYHUB_FEATURES`): shown as `failed` while no worker provides them. */
  readonly expected: readonly SmartProxyFeature[];
  readonly tls: boolean;
  readonly version: string;
  /** Event streams served at once; more are refused with 503. */
  readonly maxStreams: number;
}

const protectedRoute = { identity: 'required', trustedHosts: true } as const;
/** A comment line this often keeps proxies and load balancers from closing an idle stream. */
const SSE_KEEPALIVE_MS = 15_000;
/**
 * Changes queued for one subscriber beyond which it is taken to have stopped reading and is
 * dropped: a client that never reads would otherwise make the process keep every change for it.
 * Far above one snapshot or change; a client that reconnects resumes with `Last-Event-ID`.
 */
export const SSE_MAX_BUFFERED_BYTES = 1024 * 1024;

function formatEvent(id: string, event: string, data: unknown): string {
  return `id: ${id}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

function writeEvent(raw: ServerResponse, id: string, event: string, data: unknown): void {
  raw.write(formatEvent(id, event, data));
}

export const capabilityRoutes: FastifyPluginAsync<CapabilityRouteOptions> = async (app, options) => {
  const { service } = options;
  const streams = new Set<ServerResponse>();
  // Open streams would hold the listener's close forever.
  app.addHook('preClose', async () => {
    for (const raw of streams) raw.end();
  });

  // Open, as the smart-proxy's root module: Foreman reads it before it trusts anything.
  app.get('/version', () => ({ version: options.version, modules: versionModules(service.features()) }));
  app.get('/features', () => runningFeatures(service.features()));
  app.get('/v2/features', { config: protectedRoute }, () => v2Features(service.features(), options.expected, options.tls));
  app.get('/capabilities', { config: protectedRoute }, () => service.snapshot());

  app.get('/capabilities/events', { config: { ...protectedRoute, rateLimit: false } }, (request, reply) => {
    // Checked and taken in the same tick as the stream is added below: no await in between.
    if (streams.size >= options.maxStreams) {
      void sendProblem(reply, 'PROXYHUB_SSE_STREAM_LIMIT', `${options.maxStreams} event streams are open already (PROXYHUB_MAX_EVENT_STREAMS)`);
      return;
    }
    const lastEventId = request.headers['last-event-id'];
    const missed = typeof lastEventId === 'string' ? service.changesAfter(lastEventId) : undefined;
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    // The same tick as the snapshot or the missed changes: nothing can fall in between.
    if (missed === undefined) {
      const snapshot = service.snapshot();
      writeEvent(raw, snapshot.lastEventId, SSE_SNAPSHOT_EVENT, snapshot);
    } else {
      for (const record of missed) writeEvent(raw, service.eventIdOf(record.seq), SSE_CHANGED_EVENT, record.change);
    }
    const release = (): void => {
      clearInterval(keepalive);
      unsubscribe();
      streams.delete(raw);
    };
    /** Writes unless the client has fallen too far behind; then drops it instead of queueing more. */
    const write = (text: string): void => {
      if (raw.destroyed) return;
      raw.write(text);
      if (raw.writableLength <= SSE_MAX_BUFFERED_BYTES) return;
      request.log.warn({ buffered: raw.writableLength }, 'capability event stream dropped: the client stopped reading');
      release();
      raw.destroy();
    };
    const unsubscribe = service.subscribe((record: ChangeRecord) => write(formatEvent(service.eventIdOf(record.seq), SSE_CHANGED_EVENT, record.change)));
    const keepalive = setInterval(() => write(': keep-alive\n\n'), SSE_KEEPALIVE_MS);
    streams.add(raw);
    raw.on('close', release);
  });
};
