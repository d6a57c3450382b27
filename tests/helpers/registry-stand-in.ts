/**
 * Stand-ins for the container gateway's upstreams (container-gateway-contract §2, §3, §7): a
 * registry that answers like Pulp (manifests 200 by `Accept`, or 302 for an "old Pulp"
 * repository; blobs 302 to a content app) or like a plain registry (blobs 200 with the bytes),
 * and Katello's `/v2/token` and `/v2/_catalog`. Each counts what it was asked.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export const MANIFEST_V2 = 'application/vnd.docker.distribution.manifest.v2+json';
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

export interface RecordedCall {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
}

/** A plain-HTTP server on a free loopback port; a stand-in says how it answers. */
abstract class LoopbackStandIn {
  #server: Server | undefined;
  url = '';

  async start(): Promise<void> {
    const server = createServer((request, response) => this.handle(request, response));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    this.#server = server;
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    const server = this.#server;
    if (!server) return Promise.resolve();
    server.closeAllConnections();
    return new Promise((resolve) => server.close(() => resolve()));
  }

  protected abstract handle(request: IncomingMessage, response: ServerResponse): void;
}

export function manifestFor(repository: string, reference: string, mediaType: string): { body: string; digest: string } {
  const body = JSON.stringify({ schemaVersion: 2, mediaType, repository, reference });
  return { body, digest: `sha256:${createHash('sha256').update(body).digest('hex')}` };
}

export class RegistryStandIn extends LoopbackStandIn {
  readonly calls: RecordedCall[] = [];
  /** Bytes of blob bodies written to anyone: the gateway must never make this grow. */
  blobBytesSent = 0;
  /** Repositories answered as pulp_container < 2.28 does: manifests by redirect. */
  readonly redirectingRepositories = new Set<string>(['old/pulp']);
  /** Blobs served by redirect to a content app (Pulp) rather than as bytes (a plain registry). */
  blobsByRedirect = false;
  readonly blob = randomBytes(256 * 1024);
  protected override handle(request: IncomingMessage, response: ServerResponse): void {
    this.calls.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers });
    const path = new URL(request.url ?? '/', 'http://x').pathname.replace(/^\/registry/, '');
    const json = (status: number, value: unknown, headers: Record<string, string> = {}): void => {
      response.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(value));
    };
    if (path === '/v2/') return json(200, {});
    const tags = /^\/v2\/(.+)\/tags\/list$/.exec(path);
    if (tags) return json(200, { name: tags[1], tags: ['latest', 'v1'] }, tags[1] === 'paged' ? { link: '</v2/paged/tags/list?n=2&last=v1>; rel="next"' } : {});
    const manifest = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(path);
    if (manifest) {
      const [, repository = '', reference = ''] = manifest;
      if (repository === 'missing') return json(404, { errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }] });
      if (this.redirectingRepositories.has(repository)) return void response.writeHead(302, { location: `/pulp/container/${repository}/manifests/${reference}?validate_token=abc` }).end();
      const accept = String(request.headers.accept ?? '');
      const mediaType = accept.includes(OCI_MANIFEST) ? OCI_MANIFEST : MANIFEST_V2;
      const { body, digest } = manifestFor(repository, reference, mediaType);
      return void response.writeHead(200, { 'content-type': mediaType, 'docker-content-digest': digest, 'content-length': Buffer.byteLength(body) }).end(body);
    }
    const blob = /^\/v2\/(.+)\/blobs\/([^/]+)$/.exec(path);
    if (blob) {
      if (blob[2] === 'sha256:' + '0'.repeat(64)) return json(404, { errors: [{ code: 'BLOB_UNKNOWN', message: 'blob unknown' }] });
      if (this.blobsByRedirect) return void response.writeHead(302, { location: `http://127.0.0.1:24816/pulp/container/${blob[1]}/blobs/${blob[2]}?validate_token=t` }).end();
      response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': this.blob.length, 'docker-content-digest': blob[2] ?? '' });
      if (request.method === 'HEAD') return void response.end();
      this.blobBytesSent += this.blob.length;
      return void response.end(this.blob);
    }
    if (path === '/index/static') return json(200, { Results: [{ Name: 'open/app' }, { Name: 'private/app' }, { Name: 'other' }] });
    json(404, { errors: [{ code: 'NAME_UNKNOWN', message: 'not here' }] });
  }
}

export interface KatelloUser {
  readonly password: string;
  readonly repositories: string[];
  /** Seconds, as `registry_token_expiration_minutes` would make them. @defaultValue 3600 */
  expiresIn?: number;
}

export class KatelloStandIn extends LoopbackStandIn {
  readonly calls: RecordedCall[] = [];
  readonly users = new Map<string, KatelloUser>();
  readonly hosts = new Map<string, string[]>();
  /** Tokens issued, by value. */
  readonly issued = new Map<string, string>();
  #user(request: IncomingMessage): string | undefined {
    const match = /^Basic (\S+)$/.exec(String(request.headers.authorization ?? ''));
    if (!match?.[1]) return undefined;
    const [login = '', password] = Buffer.from(match[1], 'base64').toString('utf8').split(':');
    return this.users.get(login)?.password === password ? login : undefined;
  }

  protected override handle(request: IncomingMessage, response: ServerResponse): void {
    this.calls.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers });
    const url = new URL(request.url ?? '/', 'http://x');
    const json = (status: number, value: unknown): void => void response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
    if (url.pathname === '/v2/token') {
      const login = this.#user(request);
      if (login === undefined) return json(401, { error: 'unauthorized' });
      const token = randomBytes(20).toString('hex');
      this.issued.set(token, login);
      // Katello's issued_at is RFC 3339 in UTC; without a zone the plugin once read local time.
      return json(200, { token, expires_in: this.users.get(login)?.expiresIn ?? 3600, issued_at: new Date().toISOString().replace(/\.\d+Z$/, '') });
    }
    if (url.pathname === '/v2/_catalog') {
      const login = this.#user(request);
      if (login !== undefined) return json(200, { repositories: this.users.get(login)?.repositories ?? [] });
      const host = this.hosts.get(String(request.headers.hostuuid ?? ''));
      return host === undefined ? json(404, { error: 'host not found' }) : json(200, { repositories: host });
    }
    json(404, { error: `no route ${url.pathname}` });
  }
}
