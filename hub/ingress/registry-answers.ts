/**
 * How the ingress answers container clients (container-gateway-contract §2, §3): the registry's
 * headers on every answer, the challenge with a realm at the scheme and host the client used, and
 * failures in the registry's own error format (a container client shows `errors[].message`, not
 * problem+json).
 */
import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { errorCatalog, type ErrorCode } from '../../contracts/errors.ts';
import { registryErrorBody, type RegistryAnswer, type RegistryIdentity } from '../../contracts/container-gateway/registry-rpc.ts';
import { fromFrontProxy } from '../http/client-identity.ts';
import { setRetryAfter } from '../http/problem.ts';

export const API_VERSION_HEADER = 'docker-distribution-api-version';
export const API_VERSION = 'registry/2.0';

/**
 * Who asks: the verified certificate (a host's consumer UUID) first, else a bearer token, which
 * leaves this process only as its SHA-256, else nobody. Katello's literal tokens are not secrets.
 */
export function registryIdentity(request: FastifyRequest): RegistryIdentity {
  if (request.clientIdentity) return { kind: 'certificate', cn: request.clientIdentity.cn };
  const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '');
  const token = match?.[1];
  if (token === undefined) return { kind: 'anonymous' };
  if (token === 'unauthenticated' || token === 'unauthorized') return { kind: 'literal', token };
  return { kind: 'token', sha256: createHash('sha256').update(token).digest('hex') };
}

function firstForwarded(value: string | string[] | undefined): string | undefined {
  const first = (Array.isArray(value) ? value[0] : value)?.split(',')[0]?.trim();
  return first === '' ? undefined : first;
}

/**
 * The scheme and authority the client used: this listener's, or a listed front proxy's
 * `X-Forwarded-Proto`/`-Host` (from any other peer those headers are ignored).
 */
export function clientOrigin(request: FastifyRequest, frontProxies: ReadonlySet<string | undefined>): { scheme: string; host: string } {
  if (fromFrontProxy(request, frontProxies)) {
    const scheme = firstForwarded(request.headers['x-forwarded-proto']);
    const host = firstForwarded(request.headers['x-forwarded-host']);
    return { scheme: scheme === 'http' || scheme === 'https' ? scheme : request.protocol, host: host ?? request.host };
  }
  return { scheme: request.protocol, host: request.host };
}

/** The plugin's challenge (`redirect_authorization_headers`), at the origin the client used. */
export function challengeOf(origin: { scheme: string; host: string }): string {
  return `Bearer realm="${origin.scheme}://${origin.host}/v2/token",service="${origin.host}",scope="repository:registry:pull,push"`;
}

export function sendRegistryError(reply: FastifyReply, status: number, code: string, message: string, challenge?: string): FastifyReply {
  reply.header(API_VERSION_HEADER, API_VERSION);
  if (challenge !== undefined) reply.header('www-authenticate', challenge);
  return reply.code(status).type('application/json').send(registryErrorBody(code, message));
}

/** The worker could not answer: the catalog's status (503 with Retry-After, 502, 504), as a registry error. */
export function sendGatewayFailure(reply: FastifyReply, code: ErrorCode, detail: string): FastifyReply {
  setRetryAfter(reply, code);
  reply.problemCode = code;
  const status = code === 'PROXYHUB_RPC_TIMEOUT' ? 504 : errorCatalog[code].status >= 500 ? errorCatalog[code].status : 502;
  reply.header(API_VERSION_HEADER, API_VERSION);
  return reply.code(status).type('application/json').send(registryErrorBody('UNAVAILABLE', `${errorCatalog[code].title}${detail ? ` (${detail})` : ''}`, { code }));
}

export function sendRegistryAnswer(reply: FastifyReply, answer: RegistryAnswer, challenge: string): FastifyReply {
  reply.header(API_VERSION_HEADER, API_VERSION);
  for (const [name, value] of Object.entries(answer.headers)) if (value !== undefined) reply.header(name, value);
  if (answer.challenge) reply.header('www-authenticate', challenge);
  return reply.code(answer.status).send(Buffer.from(answer.body, 'base64'));
}
