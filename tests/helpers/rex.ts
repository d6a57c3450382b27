/**
 * Foreman's side of remote execution for tests: launch bodies as foreman_remote_execution builds
 * them (§2.3), small readers of the task API, and the start-up of a REX run (where the control
 * listens, the hub's key on the test host).
 */
import { randomUUID } from 'node:crypto';
import type { RunningHub } from '../../cli/start.ts';
import type { ChildHub } from './hub-harness.ts';
import type { TestSshd } from './sshd.ts';
import type { TestForeman, RexCallback } from './test-foreman.ts';
import { waitFor } from './wait-for.ts';

export interface HostJob {
  readonly planId: string;
  readonly taskId: string;
  readonly stepId: number;
  readonly input: Record<string, unknown>;
}

let step = 1;

/** One host's entry: `overrides` are merged into action_input. */
export function hostJob(hostname: string, script: string, overrides: Record<string, unknown> = {}): HostJob {
  const taskId = randomUUID();
  const stepId = (step += 1);
  return {
    planId: randomUUID(),
    taskId,
    stepId,
    input: {
      hostname,
      script,
      ssh_user: 'root',
      effective_user: 'root',
      effective_user_method: 'sudo',
      remote_working_dir: '/var/tmp',
      cleanup_working_dirs: true,
      secrets: { ssh_password: null, key_passphrase: null, effective_user_password: null },
      callback: { task_id: taskId, step_id: stepId },
      proxy_url: 'https://proxy.example.com:9090',
      proxy_action_name: 'Proxy::RemoteExecution::Ssh::Actions::RunScript',
      proxy_operation_name: 'ssh',
      use_batch_triggering: true,
      ...overrides,
    },
  };
}

export function launchBody(jobs: readonly HostJob[], operation = 'ssh'): Record<string, unknown> {
  return {
    operation,
    input: Object.fromEntries(jobs.map((job) => [job.planId, { action_class: 'Proxy::RemoteExecution::Ssh::Actions::RunScript', action_input: job.input }])),
    options: {},
  };
}

/** The callback Foreman received for a job, once it arrives. */
export function callbackFor(foreman: TestForeman, job: HostJob, timeoutMs = 30_000): Promise<RexCallback> {
  return waitFor(() => foreman.callbacks.find((c) => c.callback.task_id === job.taskId), { timeoutMs, what: `the callback of ${String(job.input.hostname)} (${job.planId})` });
}

export const stdoutOf = (callback: RexCallback): string => callback.data.result.filter((r) => r.output_type === 'stdout').map((r) => r.output).join('');
export const debugOf = (callback: RexCallback): string => callback.data.result.filter((r) => r.output_type === 'debug').map((r) => r.output).join('\n');

/** Where a `proxyhub start` child's control listens (port 0 takes any): the URL its start-up line logged. */
export function controlUrlOf(child: ChildHub): string {
  const url = child.output.join('').match(/"controlUrl":"([^"]+)"/)?.[1];
  if (url === undefined) throw new Error(`no controlUrl in the child's start-up output: ${child.output.join('').slice(-1000)}`);
  return url;
}

/**
 * Puts the hub's REX public key in the test host's authorized_keys, as an operator does with
 * GET /ssh/pubkey. The ingress asks a rex worker for it over the broker, so one must be running;
 * any other answer than 200 throws here rather than authorizing an error body.
 */
export async function authorizeProxyKey(sshd: TestSshd, hub: Pick<RunningHub, 'ingressUrl'>): Promise<void> {
  if (hub.ingressUrl === undefined) throw new Error('the hub asked for the REX public key runs no ingress');
  const response = await fetch(`${hub.ingressUrl}/ssh/pubkey`);
  const body = await response.text();
  if (response.status !== 200) throw new Error(`GET /ssh/pubkey answered ${response.status}: ${body}`);
  sshd.authorize(body);
}
