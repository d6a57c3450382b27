/**
 * The usual integration set-up: a test Foreman, a hub of the given roles under a fresh prefix
 * pointed at it, and a teardown that removes all three.
 */
import type { Test } from 'tap';
import { createTopology, queueFeatures, rpcQueueNames, type Topology } from '../../contracts/topology.ts';
import type { RunningHub } from '../../cli/start.ts';
import type { Config, ConfigInput } from '../../hub/config/schema.ts';
import { consumerCount, deleteTopology, startTestHub, testConfig, testPrefix } from './hub-harness.ts';
import { TestForeman } from './test-foreman.ts';

export interface HubWithForeman {
  readonly foreman: TestForeman;
  readonly hub: RunningHub;
  readonly config: Config;
  readonly topology: Topology;
}

export async function startHubWithForeman(t: Pick<Test, 'teardown'>, options: { roles?: string; overrides?: (foremanUrl: string) => Partial<ConfigInput>; retryDelaysMs?: number[] } = {}): Promise<HubWithForeman> {
  const foreman = new TestForeman();
  await foreman.start();
  const prefix = testPrefix();
  const config = testConfig(prefix, foreman.url, options.overrides?.(foreman.url) ?? {});
  const hub = await startTestHub(config, options.roles ?? 'all');
  const topology = createTopology(prefix);
  t.teardown(async () => {
    await hub.close();
    await foreman.stop();
    // A closed hub holds no consumer: one left behind would keep taking messages (a leak).
    const queues = [...queueFeatures.map((f) => topology.workQueue(f)), ...rpcQueueNames.map((f) => topology.rpcQueue(f))];
    const leaked = (await Promise.all(queues.map(consumerCount))).reduce((a, b) => a + b, 0);
    await deleteTopology(prefix, config.worker.retryDelaysMs);
    if (leaked > 0) throw new Error(`${leaked} consumer(s) still attached after close`);
  });
  return { foreman, hub, config, topology };
}
