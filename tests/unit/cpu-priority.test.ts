/**
 * A process running only workers of deferred work (facts, reports, openscap) lowers its CPU
 * priority: every thread, those started before and after, never raised back, capped at 19; and
 * its scheduling autogroup only when it leads its own session, so that a worker started from a
 * shell never lowers the shell's group.
 */
import { getPriority } from 'node:os';
import t from 'tap';
import { lowerCpuPriority, runsDeferredWorkOnly } from '../../cli/cpu-priority.ts';
import { describePlan } from '../../cli/plan.ts';
import { loadConfig } from '../../hub/config/load.ts';
import { parseRoles } from '../../hub/config/roles.ts';
import { runJsonChild } from '../helpers/json-child.ts';
import { autogroupLine, autogroupNice } from '../helpers/process-priority.ts';

interface ChildReport {
  readonly lowered: { nice: number; threads: number; autogroup: boolean } | null;
  readonly threads: number[];
  readonly autogroup: string | null;
}

/** lower-priority-child.ts in a new process; `ownSession`: started as a supervised role is (its own session). */
function lowerInChild(steps: number, options: { ownSession: boolean; startAt?: number }): Promise<ChildReport> {
  return runJsonChild<ChildReport>('tests/helpers/lower-priority-child.ts', [String(steps), String(options.startAt ?? 0)], { ownSession: options.ownSession });
}

const base = getPriority();

t.test('only a process of deferred-work workers lowers itself', async (t) => {
  for (const spec of ['worker:facts', 'worker:reports', 'worker:openscap', 'worker:facts,worker:reports,worker:openscap']) t.ok(runsDeferredWorkOnly(parseRoles(spec)), spec);
  for (const spec of ['ingress', 'control', 'all', 'worker:rhsm', 'worker:registration', 'worker:rex', 'worker:container_gateway', 'worker:facts,worker:rhsm', 'control,worker:facts', 'ingress,worker:facts']) t.notOk(runsDeferredWorkOnly(parseRoles(spec)), spec);
});

t.test('every thread is lowered, those started later too, and a session leader lowers its group', { skip: process.platform !== 'linux' && 'Linux keeps a nice value per thread' }, async (t) => {
  const report = await lowerInChild(5, { ownSession: true });
  const expected = Math.min(19, base + 5);
  t.equal(report.lowered?.nice, expected);
  t.ok((report.lowered?.threads ?? 0) >= 3, `the threads running at the call were lowered (${report.lowered?.threads})`);
  t.same([...new Set(report.threads)], [expected], `all ${report.threads.length} threads at nice ${expected}, the one started after the call included`);
  if (report.autogroup !== null) {
    t.equal(report.lowered?.autogroup, true, 'it says it lowered its group');
    t.equal(autogroupNice(report.autogroup), expected, 'its session group is at the same nice value');
  }
});

t.test('a process in its starter\'s session leaves the shared group alone', { skip: process.platform !== 'linux' && 'Linux only' }, async (t) => {
  const groupBefore = autogroupLine('self');
  const report = await lowerInChild(5, { ownSession: false });
  t.same([...new Set(report.threads)], [Math.min(19, base + 5)], 'its own threads are lowered');
  t.equal(report.lowered?.autogroup, false, 'it says it did not touch the group');
  t.equal(report.autogroup, groupBefore, 'the group it shares with this test is as it was');
  t.equal(autogroupLine('self'), groupBefore);
});

t.test('lowering is capped at 19 and never raises a process started lower', { skip: process.platform !== 'linux' && 'Linux only' }, async (t) => {
  const report = await lowerInChild(10, { ownSession: true, startAt: Math.max(base, 15) });
  t.equal(report.lowered?.nice, 19);
  t.same([...new Set(report.threads)], [19]);
  if (report.autogroup !== null) t.equal(autogroupNice(report.autogroup), 19);
});

t.test('0 steps change nothing', async (t) => {
  t.equal(lowerCpuPriority(0), undefined);
  t.equal(getPriority(), base, 'this process is as it was');
});

t.test('the deployment plan says it for such a process only', async (t) => {
  const config = loadConfig({ PROXYHUB_FOREMAN_URL: 'https://foreman.example.com' });
  t.match(await describePlan(config, parseRoles('worker:facts,worker:openscap')), /CPU priority: 10 nice steps below its start \(PROXYHUB_WORKER_NICENESS\)/);
  t.notMatch(await describePlan(config, parseRoles('worker:rhsm')), /CPU priority/);
  const off = loadConfig({ PROXYHUB_FOREMAN_URL: 'https://foreman.example.com', PROXYHUB_WORKER_NICENESS: '0' });
  t.match(await describePlan(off, parseRoles('worker:facts')), /CPU priority: as started \(PROXYHUB_WORKER_NICENESS=0\)/);
});
