import type { Channel } from 'amqplib';
import {
  CAPABILITY_BINDING,
  capabilityStreamArguments,
  rpcQueueNames,
  rpcQueueArguments,
  deadLetterQueueArguments,
  featureBindings,
  retryQueueArguments,
  workQueueArguments,
  type QueueFeature,
  type Topology,
} from '../../contracts/topology.ts';

export interface TopologyScope {
  /** Work queues, their bindings and dead-letter queues (every role declares these). */
  readonly features: readonly QueueFeature[];
  /** Delay tiers, declared only by the workers that use them. */
  readonly retryDelaysMs?: Readonly<Partial<Record<QueueFeature, readonly number[]>>>;
}

/**
 * Declares (idempotently) what a role needs, so the first process up, of any role, makes the
 * broker ready: an ingress alone can accept uploads before any worker has started.
 */
export async function declareTopology(channel: Channel, topology: Topology, scope: TopologyScope): Promise<void> {
  await channel.assertExchange(topology.eventsExchange, 'topic', { durable: true });
  await channel.assertExchange(topology.outcomesExchange, 'topic', { durable: true });
  await channel.assertExchange(topology.deadLetterExchange, 'direct', { durable: true });
  await channel.assertExchange(topology.capabilitiesExchange, 'topic', { durable: true });
  await channel.assertQueue(topology.capabilitiesStream, { durable: true, arguments: capabilityStreamArguments() });
  await channel.bindQueue(topology.capabilitiesStream, topology.capabilitiesExchange, CAPABILITY_BINDING);
  for (const feature of rpcQueueNames) {
    await channel.assertQueue(topology.rpcQueue(feature), { durable: true, arguments: rpcQueueArguments() });
  }
  for (const feature of scope.features) {
    const workQueue = topology.workQueue(feature);
    const deadLetterQueue = topology.deadLetterQueue(feature);
    await channel.assertQueue(deadLetterQueue, { durable: true, arguments: deadLetterQueueArguments() });
    await channel.bindQueue(deadLetterQueue, topology.deadLetterExchange, workQueue);
    await channel.assertQueue(workQueue, { durable: true, arguments: workQueueArguments(topology, feature) });
    for (const eventType of featureBindings[feature]) {
      await channel.bindQueue(workQueue, topology.eventsExchange, eventType);
    }
    for (const delayMs of scope.retryDelaysMs?.[feature] ?? []) {
      await channel.assertQueue(topology.retryQueue(feature, delayMs), {
        durable: true,
        arguments: retryQueueArguments(topology, feature, delayMs),
      });
    }
  }
}
