/**
 * The turns of a pull-mqtt job against stand-ins for Redis, MQTT and the job: notification and
 * re-notification times, the rate limit (jobs over it wait a tick, un-notified), time_to_pickup,
 * the execution timeout after pickup, cancel before and after pickup, and the host's exit.
 */
import t from 'tap';
import type { RexJobData, RexProgress, RexResult } from '../../contracts/rex/job.ts';
import type { RexJobStore } from '../../hub/jobs/rex-job-store.ts';
import type { RexJobHandle } from '../../hub/jobs/rex-workers.ts';
import type { Lifecycle } from '../../workers/rex/job-lifecycle.ts';
import { runPullJob, type PullSettings } from '../../workers/rex/pull-job.ts';

const SETTINGS: PullSettings = { ttlSeconds: 5, rateLimit: 0, resendIntervalSeconds: 900, timeToPickupSeconds: 3600, pullUrl: 'https://ingress.example:8443' };

class Parked extends Error {
  constructor(readonly until: number) {
    super('parked');
  }
}

function harness(options: { progress?: RexProgress; launchedAt?: number; inFlight?: number; cancelled?: boolean; input?: Record<string, unknown>; settings?: Partial<PullSettings> } = {}) {
  const notices: Array<{ host: string; event: string; baseUrl: string }> = [];
  const marks: Array<[string, number]> = [];
  const hostJobs: string[] = [];
  const ends: Array<{ exitStatus: unknown; reason?: string | undefined }> = [];
  let progress = options.progress;
  const data: RexJobData = {
    planId: 'p-1',
    batchId: 'b-1',
    actionClass: 'RunScript',
    launchedAt: options.launchedAt ?? Date.now(),
    input: { hostname: '192.0.2.1', script: 'true', callback: { task_id: 't', step_id: 1 }, alternative_names: { fqdn: 'web1.example' }, ...options.input },
  };
  const store = {
    cancelRequested: async () => options.cancelled ?? false,
    addHostJob: async (host: string) => void hostJobs.push(host),
    pullInFlight: async () => options.inFlight ?? 0,
    markPullInFlight: async (id: string, until: number) => void marks.push([id, until]),
  } as unknown as RexJobStore;
  const lifecycle = {
    recorder: () => ({ output: () => undefined, flushed: async () => undefined }),
    finish: async (_data: RexJobData, _progress: RexProgress | undefined, ending: { exitStatus: RexResult['exit_status']; reason?: string }) => {
      ends.push(ending);
      return { exit_status: ending.exitStatus, exit_status_timestamp: 0 };
    },
  } as unknown as Lifecycle;
  const job: RexJobHandle = {
    id: 'p-1',
    data,
    progress,
    setProgress: async (next) => void (progress = next),
    appendOutput: async () => undefined,
    park: async (until) => {
      throw new Parked(until);
    },
  };
  const notifier = { start: async () => undefined, close: async () => undefined, notify: async (n: { host: string; event: string; baseUrl: string }) => void notices.push(n) };
  const turn = async (): Promise<number | RexResult> => {
    try {
      return await runPullJob(job, { store, lifecycle, notifier, settings: { ...SETTINGS, ...options.settings } });
    } catch (error) {
      if (error instanceof Parked) return error.until;
      throw error;
    }
  };
  return { turn, notices, marks, hostJobs, ends, progress: () => progress };
}

t.test('a new job is indexed for its host, notified, counted two ticks, and parked until the resend', async (t) => {
  const h = harness();
  const before = Date.now();
  const until = (await h.turn()) as number;
  t.same(h.hostJobs, ['web1.example'], 'indexed under fqdn (the CN the host will present)');
  t.same(h.notices, [{ host: 'web1.example', baseUrl: 'https://ingress.example:8443', jobUuid: 'p-1', event: 'start', effectiveUser: null }]);
  t.equal(h.progress()?.state, 'notified');
  t.equal(h.progress()?.notifications, 1);
  t.ok((h.marks[0]?.[1] ?? 0) >= before + 10_000 && (h.marks[0]?.[1] ?? 0) <= Date.now() + 10_000, 'counts against the rate limit for two ticks');
  t.ok(until >= before + 900_000 && until <= Date.now() + 900_000, 'parked until the resend interval');
});

t.test('woken early while notified: parked again until the resend, no second notice', async (t) => {
  const h = harness({ progress: { state: 'notified', notifiedAt: Date.now() - 1000, notifications: 1 } });
  t.type(await h.turn(), 'number');
  t.same(h.notices, []);
});

t.test('after the resend interval the host is notified again', async (t) => {
  const h = harness({ progress: { state: 'notified', notifiedAt: Date.now() - 901_000, notifications: 1 } });
  await h.turn();
  t.equal(h.notices.length, 1);
  t.equal(h.progress()?.notifications, 2);
});

t.test('over the rate limit: no notice, wait one tick', async (t) => {
  const h = harness({ inFlight: 3, settings: { rateLimit: 3 } });
  const before = Date.now();
  const until = (await h.turn()) as number;
  t.same(h.notices, []);
  t.equal(h.progress()?.state, 'ready_for_pickup');
  t.ok(until >= before + 5000 && until <= Date.now() + 5000);
  const under = harness({ inFlight: 2, settings: { rateLimit: 3 } });
  await under.turn();
  t.equal(under.notices.length, 1, 'under the limit it is notified');
});

t.test('time_to_pickup ends an unpicked job; the launch value wins over the setting', async (t) => {
  const h = harness({ launchedAt: Date.now() - 11_000, input: { time_to_pickup: 10 } });
  const result = (await h.turn()) as RexResult;
  t.equal(result.exit_status, 'EXCEPTION');
  t.match(h.ends[0]?.reason, /not picked up/);
  t.same(h.notices, []);
});

t.test('picked up: parked until the execution timeout, then the host is told to stop', async (t) => {
  const running = harness({ progress: { state: 'running', startedAt: Date.now() }, input: { execution_timeout_interval: 60 } });
  const until = (await running.turn()) as number;
  t.ok(until <= Date.now() + 60_000 && until > Date.now() + 50_000);
  const late = harness({ progress: { state: 'running', startedAt: Date.now() - 61_000 }, input: { execution_timeout_interval: 60 } });
  const result = (await late.turn()) as RexResult;
  t.equal(result.exit_status, 'EXCEPTION');
  t.same(late.notices.map((n) => n.event), ['cancel']);
});

t.test('cancel: dropped before pickup, MQTT cancel after', async (t) => {
  const before = harness({ cancelled: true, progress: { state: 'notified', notifiedAt: Date.now() } });
  t.equal(((await before.turn()) as RexResult).exit_status, 'EXCEPTION');
  t.same(before.notices, []);
  const after = harness({ cancelled: true, progress: { state: 'delivered', startedAt: Date.now() } });
  await after.turn();
  t.same(after.notices.map((n) => n.event), ['cancel']);
});

t.test("the host's exit finishes the job with its status", async (t) => {
  const h = harness({ progress: { state: 'running', exit: { status: 7, at: 1000 } } });
  t.equal(((await h.turn()) as RexResult).exit_status, 7);
  t.same(h.notices, []);
});
