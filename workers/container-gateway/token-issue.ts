/**
 * `GET /v2/token` (container-gateway-contract §3): Katello issues the token; the gateway keeps its
 * SHA-256 until it expires and refreshes the user's repositories from Katello's catalog. Katello's
 * literal `unauthenticated` is answered here without Katello when the scope names only open
 * repositories (or nothing, with no credentials), so anonymous pulls work while Foreman is down.
 */
import { createHash } from 'node:crypto';
import type { RegistryAnswer, RegistryRequest } from '../../contracts/container-gateway/registry-rpc.ts';
import type { GatewayStore } from '../../hub/container-gateway/gateway-store.ts';
import type { Katello } from './katello.ts';

type TokenRequest = Extract<RegistryRequest, { op: 'token' }>;

/** Katello's default when a token answer names no lifetime. */
const DEFAULT_EXPIRES_IN_SECONDS = 60;
/** What Katello answers for an open repository: three minutes. */
const UNAUTHENTICATED_SECONDS = 180;

export function jsonAnswer(status: number, value: unknown, challenge = false): RegistryAnswer {
  return { status, headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify(value)).toString('base64'), challenge };
}

/** `repository:<name>:pull[,push]` scopes → repository names (several `scope` parameters may come). */
export function scopedRepositories(query: TokenRequest['query']): string[] {
  return query.filter(([name]) => name === 'scope').flatMap(([, value]) => value.split(' ')).flatMap((scope) => {
    const match = /^repository:(.+):[a-z,*]+$/.exec(scope);
    return match?.[1] ? [match[1]] : [];
  });
}

/** The user a flatpak client sends only inside its Basic credentials (#38144). */
function basicLogin(authorization: string | undefined): string | undefined {
  const match = /^Basic\s+(\S+)$/i.exec(authorization ?? '');
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon > 0 ? decoded.slice(0, colon) : undefined;
}

/**
 * When the token expires, in epoch ms. Katello's `issued_at` is RFC 3339; one without a zone is
 * UTC (the plugin once read it as local time and was off by the zone's offset, #37925).
 */
export function expiryOf(issuedAt: unknown, dateHeader: string | undefined, expiresIn: unknown, now: number): number {
  const seconds = typeof expiresIn === 'number' && expiresIn > 0 ? expiresIn : Number(expiresIn) > 0 ? Number(expiresIn) : DEFAULT_EXPIRES_IN_SECONDS;
  const parse = (text: string): number => Date.parse(/(?:Z|[+-]\d{2}:?\d{2})$/i.test(text.trim()) || !/T|\d:\d/.test(text) ? text : `${text.trim().replace(' ', 'T')}Z`);
  const issued = typeof issuedAt === 'string' ? parse(issuedAt) : dateHeader ? Date.parse(dateHeader) : Number.NaN;
  return (Number.isFinite(issued) ? issued : now) + seconds * 1000;
}

export interface TokenContext {
  readonly store: GatewayStore;
  readonly katello: Katello;
}

export async function issueToken(context: TokenContext, request: TokenRequest, timeoutMs: number): Promise<RegistryAnswer> {
  const scoped = scopedRepositories(request.query);
  const hasAccount = request.query.some(([name, value]) => name === 'account' && value !== '');
  if (scoped.length > 0 || (!hasAccount && request.authorization === undefined)) {
    const all = await context.store.repositories();
    if (scoped.every((name) => all.get(name) === 'open')) {
      return jsonAnswer(200, { token: 'unauthenticated', expires_in: UNAUTHENTICATED_SECONDS, issued_at: new Date().toISOString() });
    }
  }
  const flatpak = /flatpak/i.test(request.userAgent ?? '');
  // The token and the repositories are filed under the login Katello checked, the one in the
  // Basic credentials: an `account` naming someone else would file the caller's token under that
  // user's name and replace that user's repositories with the caller's. podman, skopeo and docker
  // send their Basic login as `account`; a mismatch is refused before Katello is asked.
  const verifiedLogin = basicLogin(request.authorization);
  const named = request.query.find(([name]) => name === 'account')?.[1];
  if (named !== undefined && named !== '' && verifiedLogin !== undefined && named.toLowerCase() !== verifiedLogin.toLowerCase()) {
    return jsonAnswer(401, { error: 'unauthorized', detail: 'account is not the login of the credentials' }, true);
  }
  const account = named ?? (flatpak ? verifiedLogin : undefined);
  const query = [...request.query.filter(([name]) => name === 'scope'), ...(account === undefined ? [] : [['account', account] as const])];
  const answer = await context.katello.token(query, request.authorization, timeoutMs);
  const passThrough: RegistryAnswer = { status: answer.status, headers: { 'content-type': answer.contentType ?? 'application/json' }, body: answer.body.toString('base64'), challenge: false };
  if (answer.status !== 200) return passThrough;
  let parsed: { token?: unknown; expires_in?: unknown; issued_at?: unknown };
  try {
    parsed = JSON.parse(answer.body.toString('utf8')) as typeof parsed;
  } catch {
    parsed = {};
  }
  if (typeof parsed.token !== 'string' || parsed.token === '') return jsonAnswer(502, { error: 'Katello answered no token' });
  if (parsed.token === 'unauthorized') return jsonAnswer(401, { error: 'unauthorized' }, true);
  if (parsed.token === 'unauthenticated') return passThrough;
  // Without Basic credentials nothing says whose token this is: it is not kept, and Katello's
  // answer goes back unchanged (a pull with it then finds no repositories of its own).
  const login = verifiedLogin;
  if (login === undefined) return passThrough;
  const expiresAt = expiryOf(parsed.issued_at, undefined, parsed.expires_in, Date.now());
  // The user's repositories come with the token, so a new user can pull before the next sync.
  const repositories = request.authorization === undefined ? undefined : await context.katello.catalog({ authorization: request.authorization }, timeoutMs).catch(() => undefined);
  const sha256 = createHash('sha256').update(parsed.token).digest('hex');
  if (expiresAt > Date.now()) await context.store.storeToken(sha256, login, expiresAt, repositories);
  return passThrough;
}
