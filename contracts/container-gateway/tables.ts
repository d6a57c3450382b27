/**
 * The tables Katello pushes to the gateway (container-gateway-contract §4, §6), from the bodies
 * it sends: Rack-parsed forms (rack-form.ts) or JSON, booleans as `"true"`/`"false"` or real
 * ones, a missing key for an empty list. Each push replaces its whole table.
 */
import { z } from 'zod';
import { repositoryNameSchema } from './registry-rpc.ts';

/** `auth_required.to_s.downcase == "true"`, as the plugin compares it. */
const railsBoolean = z.union([z.boolean(), z.string()]).transform((value) => String(value).toLowerCase() === 'true');

const repositoryEntry = z.object({ repository: repositoryNameSchema, auth_required: railsBoolean.optional() });

/** Rack gives a list of hashes; JSON clients may send the list itself. A missing key is `[]`. */
const listOf = <T extends z.ZodType>(item: T) => z.array(item).max(1_000_000).optional().transform((list) => list ?? []);

export const repositoryListBodySchema = z.object({ repositories: listOf(repositoryEntry) });

/** `users: [{ <login>: [{repository, auth_required}] }]`: Rack merges every login into one hash. */
const mappingList = listOf(z.record(z.string().min(1).max(255), listOf(repositoryEntry)));
export const userMappingBodySchema = z.object({ users: mappingList });
export const hostMappingBodySchema = z.object({ hosts: mappingList });
export const hostListBodySchema = z.object({ hosts: listOf(z.object({ uuid: z.string().max(255).nullish() })) });

export interface RepositoryRow {
  readonly name: string;
  readonly authRequired: boolean;
}

/** Name → repositories, in the order pushed, without duplicates. */
export type RepositoryMapping = ReadonlyMap<string, readonly string[]>;

export function repositoryRows(body: z.infer<typeof repositoryListBodySchema>): RepositoryRow[] {
  const rows = new Map<string, boolean>();
  for (const entry of body.repositories) rows.set(entry.repository, entry.auth_required ?? false);
  return [...rows].map(([name, authRequired]) => ({ name, authRequired }));
}

/**
 * Login or host UUID → repositories. Users keep only `auth_required` entries (the plugin maps
 * only those: the others are open to all anyway); hosts keep every entry.
 */
export function mappingRows(list: z.infer<typeof mappingList>, onlyAuthRequired: boolean): Map<string, string[]> {
  const mapping = new Map<string, string[]>();
  for (const hash of list) {
    for (const [name, repositories] of Object.entries(hash)) {
      const kept = repositories.filter((entry) => !onlyAuthRequired || entry.auth_required === true).map((entry) => entry.repository);
      mapping.set(name, [...new Set([...(mapping.get(name) ?? []), ...kept])]);
    }
  }
  return mapping;
}

/** Blank and missing UUIDs are dropped (#38862). */
export function hostRows(body: z.infer<typeof hostListBodySchema>): string[] {
  return [...new Set(body.hosts.map((host) => host.uuid?.trim() ?? '').filter((uuid) => uuid.length > 0))];
}

/** The Katello pushes by route, for the control listener. */
export const tablePushRoutes = ['repository_list', 'user_repository_mapping', 'update_hosts', 'host_repository_mapping', 'update_host_repositories'] as const;
export type TablePushRoute = (typeof tablePushRoutes)[number];
