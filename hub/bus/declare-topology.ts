import type { Channel, ChannelModel } from 'amqplib';
import { ProxyhubError, errorMessage } from '../../contracts/errors.ts';
import {
  CAPABILITY_BINDING,
  CREATION_ONLY_ARGUMENTS,
  capabilityStreamArguments,
  queueFeatures,
  rpcQueueNames,
  rpcQueueArguments,
  deadLetterQueueArguments,
  featureBindings,
  retryQueueArguments,
  workQueueArguments,
  type QueueFeature,
  type Topology,
} from '../../contracts/topology.ts';
import type { Logger } from '../log/logger.ts';

export interface TopologyScope {
  /** Work queues, their bindings and dead-letter queues (every role declares these). */
  readonly features: readonly QueueFeature[];
  /** Delay tiers, declared only by the workers that use them. */
  readonly retryDelaysMs?: Readonly<Partial<Record<QueueFeature, readonly number[]>>>;
  /** Told each queue before it is declared, so a start stuck on one can name it (cli/start-steps.ts). */
  readonly onDeclare?: (node: string) => void;
}

/**
 * A queue that lives on one node (the classic RPC request queues) while that node is down: it
 * exists, but cannot be declared, bound or checked until the node is back. On a cluster that is
 * no reason for a role to stay down; requests to it are unroutable meanwhile (mandatory: an error
 * for the caller, not a silent loss).
 */
export function isQueueNodeDown(error: unknown): boolean {
  return error instanceof Error && /NOT[_-]FOUND/.test(error.message) && /is down or inaccessible/.test(error.message);
}

/** A redeclaration refused only because the queue was created without a creation-only argument. */
function differsOnlyInCreationArgument(error: unknown): boolean {
  return error instanceof Error && /PRECONDITION[_-]FAILED/.test(error.message) && CREATION_ONLY_ARGUMENTS.some((name) => error.message.includes(`'${name}'`));
}

/**
 * Declarations on one channel, replaced when the broker closes it. A queue created before
 * proxyhub set its replica count (RabbitMQ's default applied then) is refused with that argument
 * (RabbitMQ 3.10 compares it like any other); the argument matters only at creation, so that
 * queue is redeclared without it and keeps its members (grown by an operator with
 * `rabbitmq-queues grow`, see the README's Scale-out).
 */
class Declarations {
  #channel: Promise<Channel>;
  readonly #model: ChannelModel;
  /** Queues skipped because their node is down (see isQueueNodeDown); their bindings too. */
  readonly unavailable: string[] = [];

  constructor(model: ChannelModel) {
    this.#model = model;
    this.#channel = this.#open();
  }

  #open(): Promise<Channel> {
    return this.#model.createChannel().then((channel) => {
      channel.on('error', () => undefined);
      return channel;
    });
  }

  async assertExchange(exchange: string, type: 'topic' | 'direct'): Promise<void> {
    await (await this.#channel).assertExchange(exchange, type, { durable: true });
  }

  async bindQueue(queue: string, exchange: string, routingKey: string): Promise<void> {
    if (this.unavailable.includes(queue)) return;
    await (await this.#channel).bindQueue(queue, exchange, routingKey);
  }

  async assertQueue(queue: string, args: Record<string, unknown>): Promise<void> {
    try {
      await (await this.#channel).assertQueue(queue, { durable: true, arguments: args });
    } catch (error) {
      if (isQueueNodeDown(error)) {
        this.unavailable.push(queue);
        this.#channel = this.#open();
        return;
      }
      if (!differsOnlyInCreationArgument(error)) throw error;
      this.#channel = this.#open();
      const kept = Object.fromEntries(Object.entries(args).filter(([name]) => !(CREATION_ONLY_ARGUMENTS as readonly string[]).includes(name)));
      await (await this.#channel).assertQueue(queue, { durable: true, arguments: kept });
    }
  }

  async close(): Promise<void> {
    await (await this.#channel).close().catch(() => undefined);
  }
}

/**
 * Declares (idempotently) what a role needs, so the first process up, of any role, makes the
 * broker ready: an ingress alone can accept uploads before any worker has started. Resolves with
 * the queues that could not be declared because the one node holding them is down.
 */
export async function declareTopology(model: ChannelModel, topology: Topology, scope: TopologyScope): Promise<readonly string[]> {
  const declarations = new Declarations(model);
  try {
    await declareOn(declarations, topology, scope);
    return declarations.unavailable;
  } finally {
    await declarations.close();
  }
}

async function declareOn(declarations: Declarations, topology: Topology, scope: TopologyScope): Promise<void> {
  const declaring = (node: string): void => scope.onDeclare?.(node);
  declaring('the exchanges');
  await declarations.assertExchange(topology.eventsExchange, 'topic');
  await declarations.assertExchange(topology.outcomesExchange, 'topic');
  await declarations.assertExchange(topology.deadLetterExchange, 'direct');
  await declarations.assertExchange(topology.capabilitiesExchange, 'topic');
  await declarations.assertExchange(topology.rpcExchange, 'direct');
  for (const feature of queueFeatures) await declarations.assertExchange(topology.retryExchange(feature), 'direct');
  declaring(`queue ${topology.capabilitiesStream}`);
  await declarations.assertQueue(topology.capabilitiesStream, capabilityStreamArguments());
  await declarations.bindQueue(topology.capabilitiesStream, topology.capabilitiesExchange, CAPABILITY_BINDING);
  for (const feature of rpcQueueNames) {
    const queue = topology.rpcQueue(feature);
    declaring(`queue ${queue}`);
    await declarations.assertQueue(queue, rpcQueueArguments());
    await declarations.bindQueue(queue, topology.rpcExchange, queue);
  }
  for (const feature of scope.features) {
    const workQueue = topology.workQueue(feature);
    const deadLetterQueue = topology.deadLetterQueue(feature);
    declaring(`queue ${deadLetterQueue}`);
    await declarations.assertQueue(deadLetterQueue, deadLetterQueueArguments());
    await declarations.bindQueue(deadLetterQueue, topology.deadLetterExchange, workQueue);
    declaring(`queue ${workQueue}`);
    await declarations.assertQueue(workQueue, workQueueArguments(topology, feature));
    for (const eventType of featureBindings[feature]) {
      await declarations.bindQueue(workQueue, topology.eventsExchange, eventType);
    }
    for (const delayMs of scope.retryDelaysMs?.[feature] ?? []) {
      const retryQueue = topology.retryQueue(feature, delayMs);
      declaring(`queue ${retryQueue}`);
      await declarations.assertQueue(retryQueue, retryQueueArguments(topology, feature, delayMs));
      await declarations.bindQueue(retryQueue, topology.retryExchange(feature), retryQueue);
    }
  }
}

/** Every exchange and queue `declareTopology` makes for `scope` (bindings cannot be checked passively). */
export function topologyNodes(topology: Topology, scope: TopologyScope): { readonly exchanges: readonly string[]; readonly queues: readonly string[] } {
  return {
    exchanges: [topology.eventsExchange, topology.outcomesExchange, topology.deadLetterExchange, topology.capabilitiesExchange, topology.rpcExchange, ...queueFeatures.map((f) => topology.retryExchange(f))],
    queues: [
      topology.capabilitiesStream,
      ...rpcQueueNames.map((f) => topology.rpcQueue(f)),
      ...scope.features.flatMap((f) => [topology.deadLetterQueue(f), topology.workQueue(f), ...(scope.retryDelaysMs?.[f] ?? []).map((d) => topology.retryQueue(f, d))]),
    ],
  };
}

export function isAccessRefused(error: unknown): boolean {
  return error instanceof Error && /ACCESS[_-]REFUSED|\b403\b/.test(error.message);
}

/** Runs `fn` on a channel of its own: a refused or failed check closes that channel, nothing else. */
export async function onOwnChannel<T>(model: ChannelModel, fn: (channel: Channel) => Promise<T>): Promise<T> {
  const channel = await model.createChannel();
  channel.on('error', () => undefined);
  try {
    return await fn(channel);
  } finally {
    await channel.close().catch(() => undefined);
  }
}

async function missingNodes(model: ChannelModel, topology: Topology, scope: TopologyScope): Promise<string[]> {
  const nodes = topologyNodes(topology, scope);
  const missing: string[] = [];
  // Passive checks need no permission at all; each on its own channel, since NOT_FOUND closes it.
  for (const exchange of nodes.exchanges) {
    if (!(await onOwnChannel(model, (c) => c.checkExchange(exchange)).then(() => true, () => false))) missing.push(`exchange ${exchange}`);
  }
  for (const queue of nodes.queues) {
    // A queue whose node is down exists all the same.
    if (!(await onOwnChannel(model, (c) => c.checkQueue(queue)).then(() => true, (error: unknown) => isQueueNodeDown(error)))) missing.push(`queue ${queue}`);
  }
  return missing;
}

/**
 * Declares the topology where the account may (guest, an administrator, a trial), and otherwise
 * only checks that it is there: a per-role account has no configure permission (configure
 * includes deleting), so `proxyhub broker setup` declares the topology once with an operator's
 * account. What is missing is named, with the command that makes it.
 */
export async function ensureTopology(model: ChannelModel, topology: Topology, scope: TopologyScope, logger: Logger): Promise<void> {
  try {
    const unavailable = await declareTopology(model, topology, scope);
    if (unavailable.length > 0) logger.warn({ queues: unavailable }, 'queues on a broker node that is down were not declared; they come back with that node');
    return;
  } catch (error) {
    if (!isAccessRefused(error)) throw error;
    logger.debug({ err: errorMessage(error) }, 'this account may not declare the topology; checking that it exists');
  }
  const missing = await missingNodes(model, topology, scope);
  if (missing.length > 0) {
    const message = `the broker lacks ${missing.join(', ')} and this account may not declare them: run \`proxyhub broker setup\` with an administrator's account (same prefix "${topology.prefix}" and retry delays)`;
    logger.error({ missing }, message);
    throw new ProxyhubError('PROXYHUB_BUS_TOPOLOGY_MISSING', message);
  }
}
