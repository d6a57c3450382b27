/**
 * Calls to Foreman, with the proxy's client certificate, CA verification, and a deadline on
 * every request. Outcomes are classified for the worker: 2xx ok; network errors, 408, 429 and
 * 5xx are transient (retry later); any other status is Foreman's final word (dead-letter).
 */
import { request } from 'undici';
import { ProxyhubError, coerceError, errorMessage } from '../../contracts/errors.ts';
import { upstreamAgent } from './upstream-agent.ts';
import type { Hop, Tracing } from '../../hub/telemetry/trace-context.ts';

export interface ForemanClientOptions {
  readonly url: string;
  readonly cert?: string | undefined;
  readonly key?: string | undefined;
  readonly ca?: string | undefined;
  /** @defaultValue 30000 */
  readonly timeoutMs: number;
  /**
   * Each call a hop of the trace it is made in (a delivery's, an RPC answer's), sent as
   * `traceparent`; outside any, a new trace. @defaultValue none: no `traceparent` sent
   */
  readonly tracing?: Tracing | undefined;
}

export interface ForemanResponse {
  readonly status: number;
  readonly body: string;
}

export class ForemanCallError extends ProxyhubError {
  override readonly name = 'ForemanCallError';
  readonly upstreamStatus: number | undefined;

  constructor(retryable: boolean, message: string, upstreamStatus?: number, cause?: unknown) {
    super(retryable ? 'PROXYHUB_FOREMAN_UNAVAILABLE' : 'PROXYHUB_FOREMAN_REJECTED', message, { cause });
    this.upstreamStatus = upstreamStatus;
  }
}

/**
 * 401/403 from Foreman mean "this proxy is not (yet) authorized" (certificate, trusted_hosts,
 * restrict_registered_smart_proxies), never "this event is bad": dead-lettering them would empty
 * every queue into the DLQs over one configuration mistake, so they pause and retry instead.
 */
const TRANSIENT_STATUSES = new Set([401, 403, 408, 425, 429]);
const MAX_ERROR_BODY = 1000;

/** By name as well as by class, so the check survives a second copy of this module. */
export function isForemanCallError(error: unknown): error is ForemanCallError {
  return error instanceof ForemanCallError || (error instanceof Error && error.name === 'ForemanCallError');
}

export function isTransientStatus(status: number): boolean {
  return status >= 500 || TRANSIENT_STATUSES.has(status);
}

export interface ForemanCall {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  readonly path: string;
  readonly query: ReadonlyArray<readonly [string, string]>;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: Buffer | undefined;
  readonly timeoutMs: number;
}

export interface ForemanAnswer {
  readonly status: number;
  readonly contentType: string | undefined;
  readonly location: string | undefined;
  /** Every response header (lower-case names; the first value of a repeated one). @defaultValue none */
  readonly headers?: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

export interface ForemanClient {
  /**
   * A call whose answer is passed on whatever its status (registration, templates); rejects
   * only when Foreman could not be asked (network, TLS, deadline) with a retryable error.
   */
  forward(call: ForemanCall): Promise<ForemanAnswer>;
  /** `body` is sent as JSON; a string is taken as JSON text already serialized. */
  post(path: string, body: unknown): Promise<ForemanResponse>;
  close(): Promise<void>;
}

export function createForemanClient(options: ForemanClientOptions): ForemanClient {
  const base = new URL(options.url.endsWith('/') ? options.url : `${options.url}/`);
  const dispatcher = upstreamAgent(options);
  const { tracing } = options;
  const hopFor = (method: string, target: URL): Hop | undefined => tracing?.hop(`${method} ${target.pathname}`, tracing.current(), 'client');
  const traceHeader = (hop: Hop | undefined): Record<string, string> => (hop === undefined ? {} : { traceparent: hop.traceparent });

  return {
    async post(path, body) {
      const target = new URL(path.replace(/^\//, ''), base);
      const hop = hopFor('POST', target);
      let response;
      try {
        response = await request(target, {
          method: 'POST',
          dispatcher,
          headers: { accept: 'application/json,version=2', 'content-type': 'application/json', ...traceHeader(hop) },
          body: typeof body === 'string' ? body : JSON.stringify(body),
          signal: AbortSignal.timeout(options.timeoutMs),
        });
      } catch (error) {
        hop?.end(error);
        throw new ForemanCallError(true, `POST ${target.pathname}: ${errorMessage(error)}`, undefined, error);
      }
      const text = await response.body.text().catch(() => '');
      hop?.end(response.statusCode >= 400 ? `status ${response.statusCode}` : undefined);
      if (response.statusCode >= 200 && response.statusCode < 300) return { status: response.statusCode, body: text };
      const excerpt = text.length > MAX_ERROR_BODY ? `${text.slice(0, MAX_ERROR_BODY)}…` : text;
      throw new ForemanCallError(isTransientStatus(response.statusCode), `POST ${target.pathname} → ${response.statusCode}: ${excerpt}`, response.statusCode);
    },
    async forward(call) {
      const target = new URL(call.path.replace(/^\//, ''), base);
      for (const [key, value] of call.query) target.searchParams.append(key, value);
      const hop = hopFor(call.method, target);
      try {
        const response = await request(target, {
          method: call.method,
          dispatcher,
          // Ours wins over a client's: the registration request forwards the client's headers.
          headers: { ...call.headers, ...traceHeader(hop) },
          ...(call.body === undefined ? {} : { body: call.body }),
          signal: AbortSignal.timeout(call.timeoutMs),
        });
        const body = Buffer.from(await response.body.arrayBuffer());
        const first = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);
        hop?.end(response.statusCode >= 500 ? `status ${response.statusCode}` : undefined);
        const headers = Object.fromEntries(Object.entries(response.headers).flatMap(([name, value]) => (first(value) === undefined ? [] : [[name, first(value) as string]])));
        return { status: response.statusCode, contentType: first(response.headers['content-type']), location: first(response.headers.location), headers, body };
      } catch (error) {
        const timedOut = coerceError(error).name === 'TimeoutError' || coerceError(error).name === 'AbortError';
        hop?.end(error);
        throw new ForemanCallError(true, `${call.method} ${target.pathname}: ${timedOut ? `no answer within ${call.timeoutMs} ms` : errorMessage(error)}`, undefined, error);
      }
    },
    close: () => dispatcher.close(),
  };
}
