/** Broker chores around the scenarios: the version for the record, and removing a bench prefix. */
import { spawnSync } from 'node:child_process';
import amqplib from 'amqplib';
import { createTopology, queueFeatures, rpcQueueNames } from '../../contracts/topology.ts';
import { declareTopology } from '../../hub/bus/declare-topology.ts';

/** `rabbitmqctl version` when the CLI is here and allowed; otherwise what the broker announces. */
export async function rabbitmqVersion(amqpUrl: string): Promise<string | null> {
  const cli = spawnSync('rabbitmqctl', ['version'], { encoding: 'utf8', timeout: 20_000 });
  const line = cli.status === 0 ? cli.stdout.trim().split('\n').pop() : undefined;
  if (line) return line.trim();
  try {
    const connection = await amqplib.connect(amqpUrl);
    const version = connection.connection.serverProperties.version;
    await connection.close();
    return version ?? null;
  } catch {
    return null;
  }
}

/** The hub's topology under `prefix`, declared as the hub declares it, for a server that only publishes. */
export async function declareBenchTopology(amqpUrl: string, prefix: string): Promise<void> {
  const connection = await amqplib.connect(amqpUrl);
  try {
    await declareTopology(connection, createTopology(prefix), { features: queueFeatures });
  } finally {
    await connection.close();
  }
}

export interface RemovedTopology {
  readonly factsQueued: number | null;
  readonly rpcQueued: Record<string, number>;
  /** What each work queue and dead-letter queue held when deleted (empty when never declared). */
  readonly workQueued: Record<string, number>;
}

/**
 * Deletes every queue and exchange a hub role (or the raw scenario) declared under `prefix`.
 * Ingress alone has no consumers, so the facts queue holds everything accepted; its depth is
 * returned as a check that each 202/confirm really left a message on the broker. Every role also
 * declares the RPC request queues (classic); what they still held is returned too, which after a
 * registration run is nothing: the worker took every request. `retryDelaysMs`: the delay tiers
 * a worker role declared, whose retry queues are deleted too (none for ingress-only runs).
 */
export async function removeBenchTopology(amqpUrl: string, prefix: string, retryDelaysMs: readonly number[] = []): Promise<RemovedTopology> {
  const topology = createTopology(prefix);
  const connection = await amqplib.connect(amqpUrl);
  try {
    const channel = await connection.createChannel();
    // A failed check closes the channel with an error event; unheard, it would crash the bench.
    channel.on('error', () => undefined);
    // Declared before anything else (declareTopology), so present even after a set-up that failed
    // half-way; deleting a queue that does not exist is no error in RabbitMQ.
    const rpcQueued: Record<string, number> = {};
    for (const feature of rpcQueueNames) rpcQueued[topology.rpcQueue(feature)] = (await channel.deleteQueue(topology.rpcQueue(feature))).messageCount;
    await channel.deleteQueue(topology.capabilitiesStream);
    await channel.deleteExchange(topology.capabilitiesExchange);
    let factsQueued: number | null = null;
    try {
      factsQueued = (await channel.checkQueue(topology.workQueue('facts'))).messageCount;
    } catch {
      // never declared (the scenario failed before it declared the topology)
      return { factsQueued: null, rpcQueued, workQueued: {} };
    }
    const workQueued: Record<string, number> = {};
    for (const feature of queueFeatures) {
      for (const queue of [topology.workQueue(feature), topology.deadLetterQueue(feature)]) workQueued[queue] = (await channel.deleteQueue(queue)).messageCount;
      for (const delayMs of retryDelaysMs) await channel.deleteQueue(topology.retryQueue(feature, delayMs));
    }
    for (const exchange of [topology.eventsExchange, topology.outcomesExchange, topology.deadLetterExchange, topology.rpcExchange, ...queueFeatures.map((feature) => topology.retryExchange(feature))]) {
      await channel.deleteExchange(exchange);
    }
    return { factsQueued, rpcQueued, workQueued };
  } finally {
    await connection.close().catch(() => undefined);
  }
}

/**
 * Consumers on `queue`, for readiness: a worker is ready once the broker lists its consumer, the
 * moment it would log `proxyhub started`. A queue not declared yet counts as none.
 */
export async function consumerCount(amqpUrl: string, queue: string): Promise<number> {
  const connection = await amqplib.connect(amqpUrl);
  try {
    const channel = await connection.createChannel();
    // A failed check closes the channel with an error event; unheard, it would crash the bench.
    channel.on('error', () => undefined);
    return (await channel.checkQueue(queue)).consumerCount;
  } catch {
    return 0;
  } finally {
    await connection.close().catch(() => undefined);
  }
}

/** Ready messages in `queue` (not those delivered and unacknowledged), or null when it does not exist. */
export async function queueDepth(amqpUrl: string, queue: string): Promise<number | null> {
  const connection = await amqplib.connect(amqpUrl);
  try {
    const channel = await connection.createChannel();
    channel.on('error', () => undefined);
    return (await channel.checkQueue(queue)).messageCount;
  } catch {
    return null;
  } finally {
    await connection.close().catch(() => undefined);
  }
}

/**
 * Empties `queue` every `everyMs` until stop(), which purges once more and returns how many
 * messages were purged in all: an ingress run with nothing consuming would otherwise leave
 * hundreds of megabytes of uploads on a shared broker.
 */
export async function startPurging(amqpUrl: string, queue: string, everyMs = 1000): Promise<{ stop(): Promise<number> }> {
  const connection = await amqplib.connect(amqpUrl);
  const channel = await connection.createChannel();
  let purged = 0;
  let failure: unknown;
  let running: Promise<void> = Promise.resolve();
  const purge = (): Promise<void> =>
    channel.purgeQueue(queue).then(
      (answer) => void (purged += answer.messageCount),
      (error: unknown) => void (failure ??= error),
    );
  channel.on('error', (error: unknown) => void (failure ??= error));
  const timer = setInterval(() => {
    running = running.then(purge);
  }, everyMs);
  let stopped: Promise<number> | undefined;
  const stop = async (): Promise<number> => {
    clearInterval(timer);
    await running;
    await purge();
    await connection.close().catch(() => undefined);
    // eslint-disable-next-line @typescript-eslint/no-base-to-string -- whatever amqplib failed with, as text
    if (failure !== undefined) throw new Error(`purging ${queue} failed: ${String(failure)}`);
    return purged;
  };
  // Stopping twice (a phase's normal end, then its finally) purges and closes once.
  return { stop: () => (stopped ??= stop()) };
}
