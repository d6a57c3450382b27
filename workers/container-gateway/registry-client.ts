/**
 * Calls to the upstream registry (Pulp's `/pulpcore_registry`, or any registry's base), with the
 * proxy's certificate and a deadline on each call. Redirects are never followed: they are the
 * answer the client gets. Bodies are read only up to a bound, and blob bodies not at all.
 */
import { request } from 'undici';
import { ProxyhubError, coerceError, errorMessage } from '../../contracts/errors.ts';
import { upstreamAgent } from '../runtime/upstream-agent.ts';

export interface RegistryClientOptions {
  /** The base under which the registry's `/v2/` is found. */
  readonly url: string;
  readonly cert?: string | undefined;
  readonly key?: string | undefined;
  readonly ca?: string | undefined;
  readonly timeoutMs: number;
}

export interface UpstreamAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | undefined>>;
  /** Empty when the body was not read (`readBody: false`). */
  readonly body: Buffer;
}

export interface UpstreamCall {
  /** Below the base, e.g. `/v2/<name>/manifests/<ref>`. */
  readonly path: string;
  readonly query?: ReadonlyArray<readonly [string, string]>;
  readonly headers?: Readonly<Record<string, string | string[]>>;
  /** HEAD for blobs: the upstream decides (redirect or not) without sending a byte. @defaultValue GET */
  readonly method?: 'GET' | 'HEAD';
  /** False for blobs: the body is dropped unread, whatever it is. */
  readonly readBody: boolean;
  readonly maxBodyBytes: number;
  readonly timeoutMs: number;
}

export interface RegistryClient {
  /** The URL a path below the base has (for the redirect to a blob the upstream serves itself). */
  urlOf(path: string): URL;
  get(call: UpstreamCall): Promise<UpstreamAnswer>;
  close(): Promise<void>;
}

const PASSED_HEADERS = ['content-type', 'docker-content-digest', 'location', 'link', 'date'] as const;

export function createRegistryClient(options: RegistryClientOptions): RegistryClient {
  const base = new URL(options.url.endsWith('/') ? options.url : `${options.url}/`);
  const dispatcher = upstreamAgent(options);
  const urlOf = (path: string): URL => new URL(path.replace(/^\//, ''), base);

  return {
    urlOf,
    async get(call) {
      const target = urlOf(call.path);
      for (const [name, value] of call.query ?? []) target.searchParams.append(name, value);
      let response;
      try {
        response = await request(target, { method: call.method ?? 'GET', dispatcher, headers: { ...call.headers }, signal: AbortSignal.timeout(call.timeoutMs) });
      } catch (error) {
        const timedOut = ['TimeoutError', 'AbortError'].includes(coerceError(error).name);
        throw new ProxyhubError('PROXYHUB_REGISTRY_UNAVAILABLE', `${call.method ?? 'GET'} ${target.pathname}: ${timedOut ? `no answer within ${call.timeoutMs} ms` : errorMessage(error)}`, { cause: error });
      }
      // Dropping a body unread aborts it, which the stream reports as an error nobody needs.
      response.body.on('error', () => undefined);
      const headers: Record<string, string | undefined> = {};
      for (const name of PASSED_HEADERS) {
        const value = response.headers[name];
        headers[name] = Array.isArray(value) ? value.join(', ') : value;
      }
      if (!call.readBody) {
        // A blob's bytes are never the gateway's to carry: the connection is dropped unread.
        response.body.destroy();
        return { status: response.statusCode, headers, body: Buffer.alloc(0) };
      }
      const chunks: Buffer[] = [];
      let size = 0;
      try {
        for await (const chunk of response.body) {
          size += (chunk as Buffer).length;
          if (size > call.maxBodyBytes) {
            response.body.destroy();
            throw new ProxyhubError('PROXYHUB_REGISTRY_UNAVAILABLE', `GET ${target.pathname}: body over ${call.maxBodyBytes} bytes`);
          }
          chunks.push(chunk as Buffer);
        }
      } catch (error) {
        if (error instanceof ProxyhubError) throw error;
        throw new ProxyhubError('PROXYHUB_REGISTRY_UNAVAILABLE', `GET ${target.pathname}: ${errorMessage(error)}`, { cause: error });
      }
      return { status: response.statusCode, headers, body: Buffer.concat(chunks) };
    },
    close: () => dispatcher.close(),
  };
}
