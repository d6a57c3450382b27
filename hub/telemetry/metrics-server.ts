/**
 * The metrics port of a process without a listener (a worker-only process): `/metrics`,
 * `/livez`, `/readyz` and `/healthz` (the same as `/readyz`) on plain HTTP. It binds loopback by
 * default: it has no TLS and no client identity, so whoever reaches it reads it, and the
 * configuration refuses another address unless the operator says so (hub/config/roles.ts).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { livenessAnswer, readinessAnswer, type Health } from './health.ts';
import type { HubMetrics } from './metrics.ts';

export interface MetricsServerOptions {
  readonly host: string;
  /** 0: any free port (the tests). */
  readonly port: number;
  readonly metrics: HubMetrics;
  readonly health: Health;
  /** Names the process in the health answers, e.g. `worker:facts`. */
  readonly role: string;
}

export interface MetricsServer {
  /** Resolves with the URL it listens on. */
  start(): Promise<string>;
  close(): Promise<void>;
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  response.end(text);
}

async function answer(options: MetricsServerOptions, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const path = (request.url ?? '/').split('?')[0];
  if (request.method !== 'GET' && request.method !== 'HEAD') return sendJson(response, 405, { status: 405, detail: 'only GET' });
  switch (path) {
    case '/metrics': {
      const text = await options.metrics.render();
      response.writeHead(200, { 'content-type': options.metrics.contentType, 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
      response.end(request.method === 'HEAD' ? undefined : text);
      return;
    }
    case '/livez':
      return sendJson(response, 200, livenessAnswer(options.role));
    case '/readyz':
    case '/healthz': {
      const ready = readinessAnswer(options.health, options.role);
      return sendJson(response, ready.status, ready.body);
    }
    default:
      return sendJson(response, 404, { status: 404, detail: `no route ${path ?? ''}; try /metrics, /livez, /readyz` });
  }
}

export function createMetricsServer(options: MetricsServerOptions): MetricsServer {
  let server: Server | undefined;
  return {
    start() {
      const listening = createServer((request, response) => {
        answer(options, request, response).catch(() => {
          if (!response.headersSent) sendJson(response, 500, { status: 500, detail: 'metrics could not be rendered' });
          else response.destroy();
        });
      });
      // A scraper that holds a connection open must not delay the shutdown.
      listening.keepAliveTimeout = 5000;
      listening.headersTimeout = 10_000;
      listening.requestTimeout = 10_000;
      server = listening;
      return new Promise((resolve, reject) => {
        listening.once('error', reject);
        listening.listen(options.port, options.host, () => {
          listening.off('error', reject);
          const { address, port } = listening.address() as AddressInfo;
          resolve(`http://${address.includes(':') ? `[${address}]` : address}:${port}`);
        });
      });
    },
    async close() {
      const current = server;
      server = undefined;
      if (current === undefined || !current.listening) return;
      await new Promise<void>((resolve) => {
        current.close(() => resolve());
        current.closeAllConnections();
      });
    },
  };
}
