/**
 * A push job: run the script on the host over SSH. A job found `running` was started by a worker
 * that died; it is reported as EXCEPTION rather than run a second time (a script is not
 * idempotent, and the host may well have run it).
 */
import { join } from 'node:path/posix';
import type { ActionInput } from '../../contracts/rex/launch.ts';
import { epochSeconds, type RexResult } from '../../contracts/rex/job.ts';
import type { RexJobStore } from '../../hub/jobs/rex-job-store.ts';
import type { RexJobHandle } from '../../hub/jobs/rex-workers.ts';
import type { JobRecorder, Lifecycle } from './job-lifecycle.ts';
import { preferredHostKeyAlgorithms, type KnownHosts } from './known-hosts.ts';
import { newPasswordPrompt } from './password-prompt.ts';
import { runOverSsh, type SshScript, type SshTarget } from './ssh-runner.ts';
import type { SshKeyPair } from './ssh-keys.ts';

export interface SshJobDeps {
  readonly store: RexJobStore;
  readonly lifecycle: Lifecycle;
  readonly keys: SshKeyPair;
  readonly knownHosts: KnownHosts;
  readonly connectTimeoutMs: number;
  /**
   * The scripts this process is running now, by plan id. A job whose lock ran out while Redis was
   * away comes back as stalled although its script still runs here: it then waits for that run
   * instead of being reported as interrupted.
   */
  readonly runningHere: Map<string, Promise<RexResult>>;
}

export const WORKER_DIED_REASON = 'The worker running this job stopped (killed, or it lost Redis) while the script ran; whether the script completed on the host is unknown';

function target(input: ActionInput, deps: SshJobDeps, knownTypes: readonly string[]): SshTarget {
  const port = input.ssh_port ?? 22;
  return {
    host: input.hostname,
    port,
    user: input.ssh_user || 'root',
    privateKey: deps.keys.privateKey,
    passphrase: input.secrets?.key_passphrase ?? undefined,
    password: input.secrets?.ssh_password ?? undefined,
    connectTimeoutMs: deps.connectTimeoutMs,
    preferredHostKeyAlgorithms: preferredHostKeyAlgorithms(knownTypes),
    verifyHostKey: (key) => deps.knownHosts.verify(input.hostname, port, key),
  };
}

function script(input: ActionInput, planId: string): SshScript {
  const timeoutSeconds = Number(input.execution_timeout_interval ?? 0);
  return {
    script: input.script,
    commands: {
      directory: join(input.remote_working_dir || '/var/tmp', `foreman-ssh-cmd-${planId}`),
      sshUser: input.ssh_user || 'root',
      effectiveUser: input.effective_user ?? undefined,
      method: input.effective_user_method ?? 'sudo',
      passwordPrompt: input.secrets?.effective_user_password ? newPasswordPrompt() : undefined,
    },
    effectiveUserPassword: input.secrets?.effective_user_password ?? undefined,
    cleanup: input.cleanup_working_dirs ?? true,
    timeoutMs: timeoutSeconds > 0 ? timeoutSeconds * 1000 : undefined,
  };
}

export async function runSshJob(job: RexJobHandle, deps: SshJobDeps): Promise<RexResult> {
  const { data } = job;
  const record = deps.lifecycle.recorder(data);
  const exit = job.progress?.state === 'finished' ? job.progress.exit : undefined;
  if (exit !== undefined) {
    // Ended on an earlier turn whose completion BullMQ did not take (its lock ran out while Redis
    // was away, so the job came back as stalled): the result and the callback are recorded
    // already, and running the script again would repeat it on the host.
    return { exit_status: exit.status, exit_status_timestamp: epochSeconds(exit.at), ...(exit.reason ? { reason: exit.reason } : {}) };
  }
  const ownRun = deps.runningHere.get(data.planId);
  if (ownRun !== undefined) return ownRun;
  if (job.progress?.state === 'running') {
    record.output('debug', WORKER_DIED_REASON);
    await record.flushed();
    return deps.lifecycle.finish(data, job.progress, { exitStatus: 'EXCEPTION', code: 'PROXYHUB_REX_WORKER_DIED', reason: WORKER_DIED_REASON });
  }
  if (await deps.store.cancelRequested(data.planId)) {
    record.output('debug', 'The job was cancelled before it started');
    await record.flushed();
    return deps.lifecycle.finish(data, job.progress, { exitStatus: 'EXCEPTION', code: 'PROXYHUB_REX_CANCELLED', reason: 'cancelled before it started' });
  }
  const run = runScript(job, deps, record);
  deps.runningHere.set(data.planId, run);
  try {
    return await run;
  } finally {
    deps.runningHere.delete(data.planId);
  }
}

async function runScript(job: RexJobHandle, deps: SshJobDeps, record: JobRecorder): Promise<RexResult> {
  const { data } = job;
  const progress = { state: 'running' as const, startedAt: Date.now() };
  await job.setProgress(progress);
  const port = data.input.ssh_port ?? 22;
  // A freshly provisioned host has new keys: learn whatever it offers, as the smart-proxy does.
  if (data.input.first_execution) await deps.knownHosts.forget(data.input.hostname, port);
  const knownTypes = await deps.knownHosts.knownTypes(data.input.hostname, port);
  const outcome = await runOverSsh(target(data.input, deps, knownTypes), script(data.input, data.planId), {
    onOutput: (type, text) => record.output(type, text),
    cancelRequested: () => deps.store.cancelRequested(data.planId),
  });
  await record.flushed();
  return deps.lifecycle.finish(data, progress, { exitStatus: outcome.exitStatus, code: outcome.code, reason: outcome.reason });
}
