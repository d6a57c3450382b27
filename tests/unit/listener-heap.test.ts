/**
 * A listener process (ingress, control) has its old generation collected once it grows 20 % past
 * what is live (cli/listener-heap.ts): a child allocating like a busy ingress, with and without,
 * started with the hub's own launch flags; and the plan line that says so.
 */
import { readFileSync } from 'node:fs';
import t from 'tap';
import { runsListenersOnly } from '../../cli/listener-heap.ts';
import { describePlan } from '../../cli/plan.ts';
import { parseRoles } from '../../hub/config/roles.ts';
import { loadConfig } from '../../hub/config/load.ts';
import { runJsonChild } from '../helpers/json-child.ts';

interface ChildReport {
  readonly capped: boolean;
  readonly peakMiB: number;
}

/** The launch flags of `npm start`, the container and the systemd unit. */
const NODE_FLAGS = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { proxyhub: { nodeFlags: string[] } }).proxyhub.nodeFlags;

/** heap-growth-child.ts in a process of its own, started as the hub is. */
function allocateInChild(percent: number): Promise<ChildReport> {
  return runJsonChild<ChildReport>('tests/helpers/heap-growth-child.ts', [String(percent)], { nodeFlags: NODE_FLAGS });
}

t.test('only a process of listeners caps its heap growth', async (t) => {
  for (const spec of ['ingress', 'control', 'ingress,control']) t.ok(runsListenersOnly(parseRoles(spec)), spec);
  for (const spec of ['worker:facts', 'worker:openscap', 'worker:rex', 'all', 'ingress,worker:facts', 'control,worker:rhsm']) t.notOk(runsListenersOnly(parseRoles(spec)), spec);
});

t.test('garbage that outlives young collections is freed before the old generation grows far past what is live', async (t) => {
  const [asV8Decides, capped] = await Promise.all([allocateInChild(0), allocateInChild(20)]);
  t.equal(asV8Decides.capped, false, '0 leaves the growth to V8');
  t.equal(capped.capped, true);
  // About 16 MiB are live at any time; V8 alone lets the old generation reach 110–140 MiB on this load.
  t.ok(capped.peakMiB < asV8Decides.peakMiB * 0.6, `capped at 20 %: ${capped.peakMiB.toFixed(0)} MiB at most, against ${asV8Decides.peakMiB.toFixed(0)} MiB left to V8`);
  t.ok(capped.peakMiB < 80, `capped at 20 %: ${capped.peakMiB.toFixed(0)} MiB at most, for about 16 MiB live`);
});

t.test('the plan names the growth step of each listener', async (t) => {
  const base = { PROXYHUB_AMQP_URL: 'amqp://127.0.0.1' };
  const plan = await describePlan(loadConfig(base), parseRoles('ingress'));
  t.match(plan, /\n {4}heap: old generation collected once it grows 20 % past what is live \(PROXYHUB_LISTENER_HEAP_GROWTH_PERCENT\)/);
  const off = await describePlan(loadConfig({ ...base, PROXYHUB_LISTENER_HEAP_GROWTH_PERCENT: '0' }), parseRoles('control'));
  t.match(off, /heap: grown as V8 decides \(PROXYHUB_LISTENER_HEAP_GROWTH_PERCENT=0\)/);
  const workers = await describePlan(loadConfig(base), parseRoles('worker:facts'));
  t.notMatch(workers, /heap:/, 'a worker process is left to V8');
});
