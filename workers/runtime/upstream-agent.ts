/**
 * The HTTP connection pool a worker calls an upstream with (Foreman, the container registry):
 * the proxy's own client certificate, the upstream's CA, and the call deadline applied to
 * connecting, to the headers and to the body, so a stalled upstream never holds a delivery.
 */
import { readFileSync } from 'node:fs';
import { Agent } from 'undici';

export interface UpstreamTlsOptions {
  readonly cert?: string | undefined;
  readonly key?: string | undefined;
  readonly ca?: string | undefined;
  readonly timeoutMs: number;
}

export function upstreamAgent(options: UpstreamTlsOptions): Agent {
  return new Agent({
    connect: {
      timeout: Math.min(options.timeoutMs, 10_000),
      rejectUnauthorized: true,
      ...(options.ca ? { ca: readFileSync(options.ca) } : {}),
      ...(options.cert ? { cert: readFileSync(options.cert) } : {}),
      ...(options.key ? { key: readFileSync(options.key) } : {}),
    },
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
    keepAliveTimeout: 30_000,
  });
}
