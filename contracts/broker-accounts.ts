/**
 * What each role may do at the broker and in Redis, as data derived from the topology: the
 * RabbitMQ configure/write/read patterns (and topic patterns on the topic exchanges), and the
 * Redis ACL rules. `proxyhub broker setup` turns these into accounts; tests hold the broker to them.
 *
 * No role may configure: RabbitMQ's configure permission also deletes, so the topology is
 * declared once by `proxyhub broker setup` with an operator's account and the roles only check it.
 */
import { featureBindings, queueFeatures, type QueueFeature, type Topology } from './topology.ts';

/** One account per role a process can run; `all` is the co-located `--role all` process. */
export const accountRoles = ['ingress', 'control', 'facts', 'reports', 'openscap', 'rhsm', 'registration', 'rex', 'container_gateway', 'all'] as const;
export type AccountRole = (typeof accountRoles)[number];

/** Regexes over resource names, as `rabbitmqctl set_permissions` takes them. */
export interface BrokerPermissions {
  readonly configure: string;
  readonly write: string;
  readonly read: string;
  /** Topic exchange → routing keys this role may publish with (`set_topic_permissions`). */
  readonly topics: Readonly<Record<string, string>>;
}

/** Matches nothing (RabbitMQ reads an empty pattern the same way). */
const NOTHING = '^$';

function escape(name: string): string {
  return name.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&');
}

function anyOf(names: readonly string[]): string {
  return names.length === 0 ? NOTHING : `^(${[...new Set(names)].map(escape).join('|')})$`;
}

function keysPattern(keys: readonly string[]): string {
  return keys.length === 0 ? NOTHING : `^(${[...new Set(keys)].join('|')})$`;
}

/** The default exchange routes to every queue by name: write on it is write on every queue. */
const DEFAULT_EXCHANGE = 'amq.default';

interface Grants {
  readonly write: readonly string[];
  readonly read: readonly string[];
  /** Routing keys (regex alternatives) per topic exchange. */
  readonly topics: Readonly<Record<string, readonly string[]>>;
}

const uploadedEventKeys = queueFeatures.flatMap((f) => featureBindings[f]).map(escape);
const announceKeys = ['capability\\.(announced|withdrawn)\\.v1'];

function queueWorkerGrants(t: Topology, feature: QueueFeature): Grants {
  const publishesEvents = feature === 'reports'; // Ansible facts found inside a report
  // openscap answers policy-file requests, rhsm every synchronous /rhsm call, over direct
  // reply-to, which is the default exchange.
  const answersRpc = feature === 'openscap' || feature === 'rhsm';
  return {
    write: [t.outcomesExchange, t.deadLetterExchange, t.capabilitiesExchange, t.retryExchange(feature), ...(publishesEvents ? [t.eventsExchange] : []), ...(answersRpc ? [DEFAULT_EXCHANGE] : [])],
    read: [t.workQueue(feature), ...(feature === 'openscap' || feature === 'rhsm' ? [t.rpcQueue(feature)] : [])],
    topics: {
      [t.outcomesExchange]: ['delivery\\.[a-z-]+\\.v1'],
      [t.capabilitiesExchange]: announceKeys,
      ...(publishesEvents ? { [t.eventsExchange]: [escape('facts.uploaded.v1')] } : {}),
    },
  };
}

function grantsOf(t: Topology, role: Exclude<AccountRole, 'all'>): Grants {
  switch (role) {
    case 'ingress':
      // Direct reply-to (amq.rabbitmq.reply-to) needs no permission to consume.
      return { write: [t.eventsExchange, t.rpcExchange, t.capabilitiesExchange], read: [], topics: { [t.eventsExchange]: uploadedEventKeys, [t.capabilitiesExchange]: announceKeys } };
    case 'control':
      // Dead-letter replay puts a message back into its own work queue through the default exchange.
      return {
        write: [DEFAULT_EXCHANGE, t.capabilitiesExchange],
        read: [...queueFeatures.map((f) => t.deadLetterQueue(f)), t.capabilitiesStream],
        topics: { [t.capabilitiesExchange]: ['capability\\.[a-z-]+\\.v1'] },
      };
    case 'registration':
      return { write: [DEFAULT_EXCHANGE, t.capabilitiesExchange], read: [t.rpcQueue('registration')], topics: { [t.capabilitiesExchange]: announceKeys } };
    case 'container_gateway':
      return { write: [DEFAULT_EXCHANGE, t.capabilitiesExchange], read: [t.rpcQueue('container_gateway')], topics: { [t.capabilitiesExchange]: announceKeys } };
    case 'rex':
      return { write: [DEFAULT_EXCHANGE, t.eventsExchange, t.capabilitiesExchange], read: [t.rpcQueue('rex')], topics: { [t.eventsExchange]: ['rex\\.job\\.[a-z-]+\\.v1'], [t.capabilitiesExchange]: announceKeys } };
    case 'facts':
    case 'reports':
    case 'openscap':
    case 'rhsm':
      return queueWorkerGrants(t, role);
    default: {
      const unknown: never = role;
      throw new Error(`unknown role ${String(unknown)}`);
    }
  }
}

function union(all: readonly Grants[]): Grants {
  const topics: Record<string, string[]> = {};
  for (const grants of all) for (const [exchange, keys] of Object.entries(grants.topics)) topics[exchange] = [...new Set([...(topics[exchange] ?? []), ...keys])];
  return { write: all.flatMap((g) => g.write), read: all.flatMap((g) => g.read), topics };
}

export function brokerPermissions(topology: Topology, role: AccountRole): BrokerPermissions {
  const grants = role === 'all' ? union(accountRoles.filter((r): r is Exclude<AccountRole, 'all'> => r !== 'all').map((r) => grantsOf(topology, r))) : grantsOf(topology, role);
  return {
    configure: NOTHING,
    write: anyOf(grants.write),
    read: anyOf(grants.read),
    topics: Object.fromEntries(Object.entries(grants.topics).map(([exchange, keys]) => [exchange, keysPattern(keys)])),
  };
}

/**
 * Redis ACL rules for a role (`ACL SETUSER <name> on ><password> <rules…>`), or undefined for a
 * role that has no Redis (the ingress). Key patterns bound what a role reaches; FLUSHALL and the
 * other `@dangerous` commands, which ignore key patterns, are left out.
 */
export function redisAclRules(topology: Topology, role: AccountRole): readonly string[] | undefined {
  const p = topology.prefix;
  // ioredis names its connection and reads INFO before it reports ready.
  const connection = ['+@connection', '-@dangerous', '+info', '+client|setname', '+client|getname'];
  const dedup = [`~${p}:delivered:*`];
  // BullMQ runs Lua scripts over its own keys and blocks on them; the REX markers sit beside.
  const bullmq = [`~${p}:bull:*`, `~${p}:rex:*`];
  const bullmqCommands = ['+@read', '+@write', '+@keyspace', '+@list', '+@hash', '+@set', '+@sortedset', '+@string', '+@stream', '+@scripting', '+@transaction', '+@blocking', '+@fast', '-@dangerous', '+info', '+client|setname', '+client|getname'];
  // The container gateway's tables: built under a key of their own, then renamed into place.
  const gateway = [`~${p}:container-gateway:*`];
  const gatewayCommands = ['+@read', '+@write', '+@keyspace', '+@hash', '+@set', '+@string', '+@transaction', '+@fast', '-@dangerous', '+info', '+client|setname', '+client|getname'];
  // The rhsm worker's newest-upload markers, compared and set in one script (workers/rhsm/newest-upload.ts).
  const rhsmNewest = [`~${p}:rhsm:*`];
  const rhsmCommands = ['+get', '+eval', '+evalsha'];
  const base = ['resetkeys', 'resetchannels', '-@all'];
  switch (role) {
    case 'ingress':
    case 'registration':
      return undefined;
    case 'facts':
    case 'reports':
    case 'openscap':
      return [...base, ...dedup, ...connection, '+exists', '+set'];
    case 'rhsm':
      return [...base, ...dedup, ...rhsmNewest, ...connection, '+exists', '+set', ...rhsmCommands];
    case 'container_gateway':
      return [...base, ...gateway, ...gatewayCommands];
    case 'control':
      return [...base, ...bullmq, ...gateway, ...bullmqCommands];
    case 'rex':
      return [...base, ...bullmq, ...bullmqCommands];
    case 'all':
      return [...base, ...bullmq, ...dedup, ...gateway, ...rhsmNewest, ...bullmqCommands];
    default: {
      const unknown: never = role;
      throw new Error(`unknown role ${String(unknown)}`);
    }
  }
}

/** The role's default account name: the prefix and the role, so several hubs share a broker. */
export function accountName(topology: Topology, role: AccountRole): string {
  return `${topology.prefix}-${role}`;
}
