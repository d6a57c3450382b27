/**
 * The usual integration set-up: a test Foreman, a hub of the given roles under a fresh prefix
 * pointed at it, and a teardown that stops the hub and Foreman, checks for leaked consumers and
 * removes the prefix (tests/helpers/test-hub.ts).
 */
import type { Test } from 'tap';
import { createTopology, type Topology } from '../../contracts/topology.ts';
import type { RunningHub } from '../../cli/start.ts';
import type { Config, ConfigInput } from '../../hub/config/schema.ts';
import { testConfig } from './hub-harness.ts';
import { TestForeman } from './test-foreman.ts';
import { startHubFor, usePrefix } from './test-hub.ts';

export interface HubWithForeman {
  readonly foreman: TestForeman;
  readonly hub: RunningHub;
  readonly config: Config;
  readonly topology: Topology;
}

/** A running test Foreman, stopped when `t` ends. */
export async function startForemanFor(t: Pick<Test, 'teardown'>): Promise<TestForeman> {
  const foreman = new TestForeman();
  await foreman.start();
  t.teardown(() => foreman.stop());
  return foreman;
}

export async function startHubWithForeman(t: Pick<Test, 'teardown'>, options: { roles?: string; overrides?: (foremanUrl: string) => Partial<ConfigInput> } = {}): Promise<HubWithForeman> {
  const foreman = new TestForeman();
  await foreman.start();
  // The prefix's clean-up needs the retry tiers of a config that is made from the prefix.
  const made: { config?: Config } = {};
  const prefix = usePrefix(t, () => made.config?.worker.retryDelaysMs);
  t.teardown(() => foreman.stop());
  const config = testConfig(prefix, foreman.url, options.overrides?.(foreman.url) ?? {});
  made.config = config;
  const hub = await startHubFor(t, config, options.roles ?? 'all');
  return { foreman, hub, config, topology: createTopology(prefix) };
}
