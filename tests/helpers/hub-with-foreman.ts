/**
 * The usual integration set-up: a test Foreman, a hub of the given roles under a fresh prefix
 * pointed at it, and a teardown that removes all three.
 */
import type { Test } from 'tap';
import { createTopology, type Topology } from '../../contracts/topology.ts';
import type { RunningHub } from '../../cli/start.ts';
import type { Config, ConfigInput } from '../../hub/config/schema.ts';
import { deleteTopology, startTestHub, testConfig, testPrefix } from './hub-harness.ts';
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
  t.teardown(async () => {
    await hub.close();
    await foreman.stop();
    await deleteTopology(prefix, config.worker.retryDelaysMs);
  });
  return { foreman, hub, config, topology: createTopology(prefix) };
}
