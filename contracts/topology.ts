/**
 * Every broker and Redis name proxyhub uses, derived from one prefix so that several hubs (or
 * parallel test runs) share a broker without seeing each other. Nothing else builds a name.
 */
import { ProxyhubError } from './errors.ts';
import type { EventType } from './events/registry.ts';

/**
 * Features that consume from a work queue. Smart-proxy names where Foreman knows one. `rhsm`
 * delivers the subscription-manager uploads the ingress accepted with 202 (rhsm-contract §6).
 */
export const queueFeatures = ['facts', 'reports', 'openscap', 'rhsm'] as const;
export type QueueFeature = (typeof queueFeatures)[number];

/**
 * Features whose processes do work that was answered before it was done: the host got its 202
 * and the upload waits durably in the feature's queue, so a delivery may wait behind an answer.
 * `openscap` is one: the policy files its main thread also serves are fetched once and then come
 * from the ingress's cache. `rhsm` is not (its worker answers synchronous `/rhsm` calls).
 */
export const deferredWorkFeatures = ['facts', 'reports', 'openscap'] as const satisfies readonly QueueFeature[];

/** Which event types land in which feature's work queue. */
export const featureBindings = {
  facts: ['facts.uploaded.v1'],
  reports: ['report.uploaded.v1'],
  openscap: ['openscap.arf.uploaded.v1'],
  rhsm: ['rhsm.upload.accepted.v1'],
} as const satisfies Readonly<Record<QueueFeature, readonly EventType[]>>;

export type BoundEventType<F extends QueueFeature> = (typeof featureBindings)[F][number];

/**
 * RabbitMQ 3.10 quorum queues have no default delivery limit; without one a message that kills
 * its consumer is redelivered forever. Fixed here because changing a queue argument makes the
 * broker refuse the redeclaration.
 */
export const QUORUM_DELIVERY_LIMIT = 20;

/**
 * Replicas of every quorum queue and of the capability stream on a RabbitMQ cluster: three
 * tolerate the loss of one node. The broker caps it at the nodes it has, so one node takes it too.
 * Only read when a queue is created, but RabbitMQ 3.10 still refuses a redeclaration that differs;
 * a queue made before this was set is redeclared without it (hub/bus/declare-topology.ts).
 */
export const QUEUE_REPLICAS = 3;

/** Queue arguments that only matter when a queue is created (its initial replica count). */
export const CREATION_ONLY_ARGUMENTS = ['x-quorum-initial-group-size', 'x-initial-cluster-size'] as const;

/**
 * Features answered by request/reply over the broker rather than from a work queue.
 * `container_gateway` answers the ingress's registry routes (container-gateway-contract).
 */
export const rpcFeatures = ['registration', 'container_gateway'] as const;
export type RpcFeature = (typeof rpcFeatures)[number];

/**
 * Request queues: one per RPC feature, plus the ones queue features answer beside their work
 * (`rhsm`: every synchronous `/rhsm` call).
 */
export const rpcQueueNames = ['registration', 'openscap', 'rex', 'container_gateway', 'rhsm'] as const;
export type RpcQueueName = (typeof rpcQueueNames)[number];

/**
 * Features whose work lives in BullMQ on Redis rather than in a broker queue. `rex` runs
 * Foreman's remote execution jobs; it provides the smart-proxy features `script` and `dynflow`.
 */
export const jobFeatures = ['rex'] as const;
export type JobFeature = (typeof jobFeatures)[number];

/** BullMQ queues of the rex feature (names inside the topology's BullMQ prefix). */
export const rexQueueNames = {
  /** One job per host; job id = Foreman's execution-plan uuid. */
  jobs: 'rex-jobs',
  /** One flow parent per launch: Foreman's `parent.task_id`. */
  batches: 'rex-batches',
  /** Foreman callbacks, retried until Foreman accepts them. */
  callbacks: 'rex-callbacks',
} as const;

/** Any worker feature a process can run. */
export const workerFeatures = [...queueFeatures, ...rpcFeatures, ...jobFeatures] as const;
export type WorkerFeature = (typeof workerFeatures)[number];

export interface Topology {
  readonly prefix: string;
  /** Topic exchange the ingress publishes to; the routing key is the event type. */
  readonly eventsExchange: string;
  /** Topic exchange for delivery outcome events (informational; nobody has to listen). */
  readonly outcomesExchange: string;
  /** Direct exchange the work queues dead-letter into (routing key: the work queue's name). */
  readonly deadLetterExchange: string;
  /**
   * Direct exchange RPC requests go to (routing key: the request queue's name, each queue bound
   * by its own name). Publishing through the default exchange would need write on `amq.default`,
   * which RabbitMQ grants for every queue at once: the ingress could then write into work queues.
   */
  readonly rpcExchange: string;
  /** Direct exchange of one feature's delay tiers (routing key: the retry queue's name), for the same reason. */
  retryExchange(feature: QueueFeature): string;
  /** Topic exchange of capability events (routing key = event type, `capability.*.v1`). */
  readonly capabilitiesExchange: string;
  /** RabbitMQ stream bound to the capabilities exchange: bounded history a late reader replays. */
  readonly capabilitiesStream: string;
  workQueue(feature: QueueFeature): string;
  deadLetterQueue(feature: QueueFeature): string;
  /** A delay tier: messages wait `delayMs`, then expire back into the feature's work queue. */
  retryQueue(feature: QueueFeature, delayMs: number): string;
  /** Requests for an RPC feature; replies go to RabbitMQ's direct reply-to. */
  rpcQueue(feature: RpcQueueName): string;
  /** One RPC client's own reply queue, where the broker has no direct reply-to (AMQP 1.0). */
  replyQueue(clientId: string): string;
  /** Redis key remembering that an event was delivered, so a redelivery does not repeat it. */
  deliveredKey(feature: QueueFeature, eventId: string): string;
  /** Redis key of the short lease a worker holds while it delivers an event (under the dedup keys). */
  claimKey(feature: QueueFeature, eventId: string): string;
  /** BullMQ's key prefix: every BullMQ key is `<bullPrefix>:<queue>:…`. */
  readonly bullPrefix: string;
  /** Redis key holding a cancel request for a REX job. */
  rexCancelKey(planId: string): string;
  /** Redis set of the pull-mode jobs waiting for a host (by its certificate CN). */
  rexHostJobsKey(host: string): string;
  /** Redis sorted set of pull jobs counting against the MQTT rate limit (score: when they stop counting). */
  readonly rexPullInFlightKey: string;
  /** Redis key of one container gateway table (repositories, users, hosts, mappings, tokens). */
  containerGatewayKey(table: string): string;
  /** Redis key holding the newest accepted upload of one kind for one subscription-manager consumer. */
  rhsmNewestKey(consumerUuid: string, slot: string): string;
}

const PREFIX_PATTERN = /^[a-z0-9][a-z0-9_.-]{0,62}$/;

export function createTopology(prefix: string): Topology {
  if (!PREFIX_PATTERN.test(prefix)) {
    throw new ProxyhubError('PROXYHUB_CONFIG_INVALID', `prefix "${prefix}" must match ${PREFIX_PATTERN.source}`);
  }
  return Object.freeze({
    prefix,
    eventsExchange: `${prefix}.events`,
    outcomesExchange: `${prefix}.outcomes`,
    deadLetterExchange: `${prefix}.dead-letter`,
    rpcExchange: `${prefix}.rpc`,
    retryExchange: (feature: QueueFeature) => `${prefix}.${feature}.retry`,
    capabilitiesExchange: `${prefix}.capabilities`,
    capabilitiesStream: `${prefix}.capabilities.stream`,
    workQueue: (feature: QueueFeature) => `${prefix}.${feature}`,
    deadLetterQueue: (feature: QueueFeature) => `${prefix}.${feature}.dlq`,
    retryQueue: (feature: QueueFeature, delayMs: number) => `${prefix}.${feature}.retry.${delayMs}ms`,
    rpcQueue: (feature: RpcQueueName) => `${prefix}.${feature}.requests`,
    replyQueue: (clientId: string) => `${prefix}.replies.${clientId}`,
    deliveredKey: (feature: QueueFeature, eventId: string) => `${prefix}:delivered:${feature}:${eventId}`,
    claimKey: (feature: QueueFeature, eventId: string) => `${prefix}:delivered:${feature}:${eventId}:claim`,
    bullPrefix: `${prefix}:bull`,
    rexCancelKey: (planId: string) => `${prefix}:rex:cancel:${planId}`,
    rexHostJobsKey: (host: string) => `${prefix}:rex:host:${host.toLowerCase()}`,
    rexPullInFlightKey: `${prefix}:rex:pull-in-flight`,
    containerGatewayKey: (table: string) => `${prefix}:container-gateway:${table}`,
    rhsmNewestKey: (consumerUuid: string, slot: string) => `${prefix}:rhsm:newest:${consumerUuid.toLowerCase()}:${slot}`,
  });
}

/** Queue arguments, kept beside the names so every role declares them identically. */
export function workQueueArguments(topology: Topology, feature: QueueFeature): Record<string, unknown> {
  return {
    'x-queue-type': 'quorum',
    'x-quorum-initial-group-size': QUEUE_REPLICAS,
    'x-delivery-limit': QUORUM_DELIVERY_LIMIT,
    'x-dead-letter-exchange': topology.deadLetterExchange,
    'x-dead-letter-routing-key': topology.workQueue(feature),
    // at-least-once dead-lettering keeps a message until the DLQ confirmed it; it needs reject-publish.
    'x-dead-letter-strategy': 'at-least-once',
    'x-overflow': 'reject-publish',
  };
}

export function deadLetterQueueArguments(): Record<string, unknown> {
  // No delivery limit: browsing the DLQ returns messages to it, which must never drop them.
  return { 'x-queue-type': 'quorum', 'x-quorum-initial-group-size': QUEUE_REPLICAS };
}

/**
 * RPC requests are worth nothing once the caller gave up: a classic queue (no replication cost on
 * the request path) whose messages expire.
 */
export function rpcQueueArguments(): Record<string, unknown> {
  return { 'x-queue-type': 'classic', 'x-message-ttl': RPC_REQUEST_TTL_MS };
}

/** Longest any caller waits for a reply; fixed because it is a queue argument. */
export const RPC_REQUEST_TTL_MS = 60_000;

export function retryQueueArguments(topology: Topology, feature: QueueFeature, delayMs: number): Record<string, unknown> {
  return {
    'x-queue-type': 'quorum',
    'x-quorum-initial-group-size': QUEUE_REPLICAS,
    'x-message-ttl': delayMs,
    // The default exchange routes by queue name, so an expired message goes straight home.
    'x-dead-letter-exchange': '',
    'x-dead-letter-routing-key': topology.workQueue(feature),
    'x-dead-letter-strategy': 'at-least-once',
    'x-overflow': 'reject-publish',
  };
}

/** The binding of the capabilities stream: every capability event. */
export const CAPABILITY_BINDING = 'capability.#';

/**
 * The capabilities stream keeps an hour (readers replay only the last expiry window, so this is
 * slack for slow readers and for operators looking back), in 1 MB segments so that retention
 * actually drops old data; a size cap bounds it whatever the heartbeat traffic.
 */
export function capabilityStreamArguments(): Record<string, unknown> {
  return { 'x-queue-type': 'stream', 'x-initial-cluster-size': QUEUE_REPLICAS, 'x-max-age': '1h', 'x-max-length-bytes': 50_000_000, 'x-stream-max-segment-size-bytes': 1_000_000 };
}
