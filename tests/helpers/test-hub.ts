/**
 * The one way integration tests run hubs: every hub, in-process or child, is closed when its test
 * ends, and the test's prefix is then checked for leaks and removed. Teardowns run last-registered
 * first, so the prefix (registered before any hub) is checked only after every hub has closed.
 */
import amqplib from 'amqplib';
import type { Test } from 'tap';
import type { RunningHub } from '../../cli/start.ts';
import { createTopology, queueFeatures, rpcQueueNames } from '../../contracts/topology.ts';
import type { Config } from '../../hub/config/schema.ts';
import { AMQP_URL, deleteTopology, spawnHub, startTestHub, testPrefix, TEST_RETRY_DELAYS_MS, type ChildHub } from './hub-harness.ts';

type Teardown = Pick<Test, 'teardown'>;

/**
 * Consumers still attached to the prefix's work and RPC queues. A closed hub holds none: one left
 * behind would keep taking messages meant for the next process. Queues the test never declared
 * count as none.
 */
export async function consumersLeft(prefix: string): Promise<number> {
  const topology = createTopology(prefix);
  const queues = [...queueFeatures.map((f) => topology.workQueue(f)), ...rpcQueueNames.map((f) => topology.rpcQueue(f))];
  const connection = await amqplib.connect(AMQP_URL);
  try {
    let total = 0;
    for (const queue of queues) {
      // A missing queue closes the channel (404), so each check gets its own.
      const channel = await connection.createChannel();
      channel.on('error', () => undefined);
      total += await channel.checkQueue(queue).then(
        (ok) => ok.consumerCount,
        () => 0,
      );
      await channel.close().catch(() => undefined);
    }
    return total;
  } finally {
    await connection.close().catch(() => undefined);
  }
}

/**
 * A fresh prefix for `t`: when `t` ends (after its hubs have closed) the prefix is checked for
 * leaked consumers and its queues, exchanges, Redis keys and data directory are removed.
 * `retryDelaysMs` names the retry queues to remove, for a test whose config sets other tiers.
 */
export function usePrefix(t: Teardown, retryDelaysMs: () => readonly number[] | undefined = () => TEST_RETRY_DELAYS_MS): string {
  const prefix = testPrefix();
  t.teardown(async () => {
    const leaked = await consumersLeft(prefix);
    await deleteTopology(prefix, retryDelaysMs() ?? TEST_RETRY_DELAYS_MS);
    if (leaked > 0) throw new Error(`${leaked} consumer(s) still attached after close`);
  });
  return prefix;
}

/** An in-process hub of `roles`, closed when `t` ends unless the test closed it first (to restart it, say). */
export async function startHubFor(t: Teardown, config: Config, roles = 'all'): Promise<RunningHub> {
  const hub = await startTestHub(config, roles);
  let closed: Promise<boolean> | undefined;
  const once: RunningHub = { ...hub, close: () => (closed ??= hub.close()) };
  t.teardown(() => once.close());
  return once;
}

/** `proxyhub start --role <roles>` as a child process, stopped as an operator would (SIGTERM) when `t` ends, if the test has not. */
export async function spawnHubFor(t: Teardown, config: Config, roles: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<ChildHub> {
  const child = await spawnHub(config, roles, extraEnv);
  t.teardown(async () => {
    await child.stop();
  });
  return child;
}
