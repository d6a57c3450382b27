/**
 * What the gateway asks Katello (container-gateway-contract §3, §7): a token for a user (Basic
 * credentials or a personal access token passed through), and the repositories a user or a host
 * may pull (`GET /v2/_catalog`, with the client's Authorization or the `HostUUID` header).
 */
import type { ForemanAnswer, ForemanClient } from '../runtime/foreman-client.ts';

/** The plugin's `katello_registry_path`. */
const REGISTRY_PATH = '/v2';

export interface Katello {
  token(query: ReadonlyArray<readonly [string, string]>, authorization: string | undefined, timeoutMs: number): Promise<ForemanAnswer>;
  /** The repository names Katello lists for these credentials, or undefined when it refuses. */
  catalog(who: { readonly authorization: string } | { readonly hostUuid: string }, timeoutMs: number): Promise<string[] | undefined>;
}

export function createKatello(foreman: ForemanClient): Katello {
  return {
    token: (query, authorization, timeoutMs) =>
      foreman.forward({
        method: 'GET',
        path: `${REGISTRY_PATH}/token`,
        query,
        headers: { accept: 'application/json', 'content-type': 'application/json', ...(authorization === undefined ? {} : { authorization }) },
        timeoutMs,
      }),
    async catalog(who, timeoutMs) {
      const headers = 'authorization' in who ? { authorization: who.authorization } : { hostuuid: who.hostUuid };
      const answer = await foreman.forward({ method: 'GET', path: `${REGISTRY_PATH}/_catalog`, query: [], headers: { accept: 'application/json', ...headers }, timeoutMs });
      if (answer.status !== 200) return undefined;
      try {
        const parsed = JSON.parse(answer.body.toString('utf8')) as { repositories?: unknown };
        return Array.isArray(parsed.repositories) ? parsed.repositories.filter((name): name is string => typeof name === 'string') : undefined;
      } catch {
        return undefined;
      }
    },
  };
}
