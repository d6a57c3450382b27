/**
 * A pull-mqtt job, as a sequence of short turns (the job is parked between them, so ten thousand
 * waiting hosts hold no worker slot): notify the host, wait for it to fetch the script and post
 * updates, re-notify after the resend interval while nobody picked it up, give up after
 * time_to_pickup or the execution timeout. The host's exit update wakes the job to finish it.
 *
 * Rate limit (the smart-proxy's `mqtt_rate_limit`): a job counts while notified-but-unpicked for
 * about two ticks, and while delivered or running; jobs over the limit wait a tick and try again.
 */
import type { RexResult, RexProgress } from '../../contracts/rex/job.ts';
import { pullHostName } from '../../contracts/rex/launch.ts';
import type { RexJobStore } from '../../hub/jobs/rex-job-store.ts';
import type { RexJobHandle } from '../../hub/jobs/rex-workers.ts';
import type { Lifecycle } from './job-lifecycle.ts';
import type { PullNotifier } from './mqtt-notifier.ts';

export interface PullSettings {
  readonly ttlSeconds: number;
  readonly rateLimit: number;
  readonly resendIntervalSeconds: number;
  readonly timeToPickupSeconds: number;
  /** Where hosts fetch jobs (the ingress); else the launch's proxy_url. */
  readonly pullUrl: string | undefined;
}

export interface PullJobDeps {
  readonly store: RexJobStore;
  readonly lifecycle: Lifecycle;
  readonly notifier: PullNotifier;
  readonly settings: PullSettings;
}

/** Running jobs count against the limit until they finish. */
const FOREVER = 8_640_000_000_000_000;

export async function runPullJob(job: RexJobHandle, deps: PullJobDeps): Promise<RexResult> {
  const { data } = job;
  const input = data.input;
  const host = pullHostName(input);
  const now = Date.now();
  const progress: RexProgress = job.progress ?? { state: 'queued' };
  const baseUrl = deps.settings.pullUrl ?? input.proxy_url ?? '';
  const notify = (event: 'start' | 'cancel') => deps.notifier.notify({ host, baseUrl, jobUuid: data.planId, event, effectiveUser: input.effective_user || null });
  const record = deps.lifecycle.recorder(data);
  const end = async (reason: string, code: 'PROXYHUB_REX_CANCELLED' | 'PROXYHUB_REX_TIMEOUT'): Promise<RexResult> => {
    record.output('debug', reason);
    await record.flushed();
    return deps.lifecycle.finish(data, progress, { exitStatus: 'EXCEPTION', code, reason });
  };

  if (progress.exit) return deps.lifecycle.finish(data, progress, { exitStatus: progress.exit.status, reason: progress.exit.reason });
  const pickedUp = progress.state === 'delivered' || progress.state === 'running';
  if (await deps.store.cancelRequested(data.planId)) {
    // Once the host has it, only the host can stop it: tell it, as the smart-proxy does.
    if (pickedUp) await notify('cancel');
    return end(pickedUp ? 'The job was cancelled; the host was told to stop it' : 'The job was cancelled before the host picked it up', 'PROXYHUB_REX_CANCELLED');
  }
  if (pickedUp) {
    const timeoutSeconds = Number(input.execution_timeout_interval ?? 0);
    const deadline = timeoutSeconds > 0 ? (progress.startedAt ?? now) + timeoutSeconds * 1000 : undefined;
    if (deadline !== undefined && now >= deadline) {
      await notify('cancel');
      return end('Timeout for execution passed, the host was told to stop the job', 'PROXYHUB_REX_TIMEOUT');
    }
    return job.park(Math.min(deadline ?? FOREVER, now + deps.settings.resendIntervalSeconds * 1000));
  }
  const pickupDeadline = data.launchedAt + Number(input.time_to_pickup ?? deps.settings.timeToPickupSeconds) * 1000;
  if (now >= pickupDeadline) return end('The job was not picked up by the host in time (time_to_pickup)', 'PROXYHUB_REX_TIMEOUT');
  if (progress.state === 'queued') {
    await deps.store.addHostJob(host, data.planId, data.launchedAt);
  }
  const resendAt = (progress.notifiedAt ?? 0) + deps.settings.resendIntervalSeconds * 1000;
  if (progress.state === 'notified' && now < resendAt) return job.park(Math.min(resendAt, pickupDeadline));
  const tick = deps.settings.ttlSeconds * 1000;
  if (deps.settings.rateLimit > 0 && (await deps.store.pullInFlight(now)) >= deps.settings.rateLimit) {
    if (progress.state === 'queued') await job.setProgress({ ...progress, state: 'ready_for_pickup' });
    return job.park(now + tick);
  }
  await deps.store.markPullInFlight(data.planId, now + 2 * tick);
  // Recorded before the host is told: a quick host fetches the job and reports its exit while this
  // turn is still running, and a 'notified' written afterwards would overwrite that exit (the job
  // then waited for a resend its host ignores; the soak lost 13 % of the callbacks so).
  await job.setProgress({ ...progress, state: 'notified', notifiedAt: now, notifications: (progress.notifications ?? 0) + 1 });
  await notify('start');
  return job.park(Math.min(now + deps.settings.resendIntervalSeconds * 1000, pickupDeadline));
}

export { FOREVER as PULL_RUNNING_FOREVER };
