/**
 * Who may pull what, as the plugin decides it (container-gateway-contract §3,
 * `handle_repo_auth`): a host certificate by its consumer UUID (an unknown host is looked up at
 * Katello on the spot), a bearer token by the user it was issued to, anyone for a repository
 * without `auth_required`. A refusal is 401 for a host certificate and 404 `NAME_UNKNOWN` for
 * everyone else, so that a stranger cannot tell which repositories exist.
 */
import type { RegistryIdentity } from '../../contracts/container-gateway/registry-rpc.ts';
import type { GatewayStore } from '../../hub/container-gateway/gateway-store.ts';
import type { Logger } from '../../hub/log/logger.ts';
import { errorMessage } from '../../contracts/errors.ts';
import type { Katello } from './katello.ts';

export type AccessDecision = { readonly allowed: true } | { readonly allowed: false; readonly status: 401 | 404 };

export interface AccessContext {
  readonly store: GatewayStore;
  readonly katello: Katello;
  readonly logger: Logger;
}

/**
 * A host Katello registered after the last capsule sync is fetched once, with the `HostUUID`
 * header, and kept. With Foreman down the lookup fails and the host is refused until it answers.
 */
export async function knowHost(context: AccessContext, uuid: string, timeoutMs: number): Promise<boolean> {
  if (await context.store.isKnownHost(uuid)) return true;
  let repositories: string[] | undefined;
  try {
    repositories = await context.katello.catalog({ hostUuid: uuid }, timeoutMs);
  } catch (error) {
    context.logger.warn({ err: errorMessage(error) }, 'Katello could not be asked for an unknown host');
    return false;
  }
  if (repositories === undefined) return false;
  await context.store.updateHostRepositories(new Map([[uuid, repositories]]));
  return true;
}

export async function decideAccess(context: AccessContext, identity: RegistryIdentity, repository: string, timeoutMs: number): Promise<AccessDecision> {
  const { store } = context;
  if (identity.kind === 'certificate') {
    await knowHost(context, identity.cn, timeoutMs);
    const access = await store.repositoryAccess(repository);
    if (access === 'open') return { allowed: true };
    if (access === 'auth-required' && (await store.hostMapped(identity.cn, repository))) return { allowed: true };
    return { allowed: false, status: 401 };
  }
  const access = await store.repositoryAccess(repository);
  if (access === 'open') return { allowed: true };
  if (access === 'auth-required' && identity.kind === 'token') {
    const login = await store.tokenUser(identity.sha256);
    if (login !== undefined && (await store.userMapped(login, repository))) return { allowed: true };
  }
  return { allowed: false, status: 404 };
}

/**
 * `GET /v2/_catalog` (§3): a host sees its repositories and the open ones; Katello's literal
 * tokens see the open ones; a live user token the user's and the open ones. Anyone else is
 * refused (undefined).
 */
export async function visibleRepositories(context: AccessContext, identity: RegistryIdentity, timeoutMs: number): Promise<string[] | undefined> {
  const { store } = context;
  let own: string[];
  if (identity.kind === 'certificate') {
    await knowHost(context, identity.cn, timeoutMs);
    own = await store.hostRepositories(identity.cn);
  } else if (identity.kind === 'literal') {
    own = [];
  } else if (identity.kind === 'token') {
    const login = await store.tokenUser(identity.sha256);
    if (login === undefined) return undefined;
    own = await store.userRepositories(login);
  } else {
    return undefined;
  }
  const all = await store.repositories();
  const visible = new Set(own.filter((name) => all.has(name)));
  for (const [name, access] of all) if (access === 'open') visible.add(name);
  return [...visible].sort();
}
