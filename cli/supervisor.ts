/**
 * `proxyhub start` with several roles (`--role all`, `--role ingress,worker:facts`): each role
 * runs in a child process of its own, so that one role's CPU work (an ARF parse, a burst of
 * deliveries) never delays another's answers, and a crash takes down one role, not the hub.
 * This process only supervises: it starts the children, reports the hub started once every
 * child has, restarts a child that exits (jittered backoff, capped), and on SIGTERM/SIGINT stops
 * them all within the shutdown deadline.
 */
import type { ChildProcess } from 'node:child_process';
import type { Logger } from '../hub/log/logger.ts';
import { forkRole, isRoleStarted } from './child-role.ts';
import { restartDelayMs, RESTART_STABLE_MS } from './restart-backoff.ts';

export interface SupervisorOptions {
  /** One child per role, e.g. `['ingress', 'worker:facts']`. */
  readonly roles: readonly string[];
  readonly logger: Logger;
  /** After SIGTERM, how long a child may take to stop before it is killed. */
  readonly stopTimeoutMs: number;
  /** Starts one role's child. @defaultValue forkRole */
  readonly fork?: (role: string) => ChildProcess;
  /**
   * Hears that every child started, with their listener URLs, instead of the `proxyhub started`
   * log line: an ingress's processes (cli/ingress-cluster.ts) tell their own supervisor.
   */
  readonly onStarted?: (urls: StartedUrls) => void;
  /** What the first log line says this supervisor runs. @defaultValue 'one process per role' */
  readonly layout?: string;
}

export type StartedUrls = Omit<RoleState['urls'], 'metricsUrl'> & { metricsUrls?: Record<string, string> };

interface RoleState {
  readonly role: string;
  child: ChildProcess | undefined;
  pid: number | undefined;
  since: number;
  started: boolean;
  /** Restarts in the current crash loop, for the backoff. */
  attempt: number;
  restarts: number;
  urls: { ingressUrl?: string; controlUrl?: string; metricsUrl?: string };
  timer: NodeJS.Timeout | undefined;
  failedStop: boolean;
}

/** Runs the roles until a signal (0 when all stopped cleanly) or a failed start (1). */
export function runSupervisor(options: SupervisorOptions): Promise<number> {
  const { logger } = options;
  const fork = options.fork ?? forkRole;
  const states = options.roles.map((role): RoleState => ({ role, child: undefined, pid: undefined, since: 0, started: false, attempt: 0, restarts: 0, urls: {}, timer: undefined, failedStop: false }));
  let phase: 'starting' | 'running' | 'stopping' = 'starting';
  let startFailed = false;
  let killTimer: NodeJS.Timeout | undefined;
  let finish: (code: number) => void = () => undefined;
  const finished = new Promise<number>((resolve) => (finish = resolve));
  const children = (): Array<{ role: string; pid: number | undefined }> => states.map(({ role, pid }) => ({ role, pid }));
  const urls = (): StartedUrls => {
    const merged = Object.assign({}, ...states.map(({ urls: { metricsUrl: _metrics, ...listeners } }) => listeners)) as Omit<RoleState['urls'], 'metricsUrl'>;
    const metricsUrls = Object.fromEntries(states.flatMap((state) => (state.urls.metricsUrl === undefined ? [] : [[state.role, state.urls.metricsUrl]])));
    return Object.keys(metricsUrls).length === 0 ? merged : { ...merged, metricsUrls };
  };

  const launch = (state: RoleState): void => {
    const child = fork(state.role);
    Object.assign(state, { child, pid: child.pid, since: Date.now(), started: false });
    child.on('message', (message) => {
      if (!isRoleStarted(message)) return;
      state.started = true;
      state.urls = { ...(message.ingressUrl === undefined ? {} : { ingressUrl: message.ingressUrl }), ...(message.controlUrl === undefined ? {} : { controlUrl: message.controlUrl }), ...(message.metricsUrl === undefined ? {} : { metricsUrl: message.metricsUrl }) };
      if (phase === 'running') logger.info({ role: state.role, childPid: state.pid, restarts: state.restarts, ...state.urls }, `role ${state.role} restarted`);
      if (phase === 'starting' && states.every((s) => s.started)) {
        phase = 'running';
        if (options.onStarted) {
          logger.info({ roles: options.roles, children: children(), supervisorPid: process.pid, ...urls() }, 'processes started');
          options.onStarted(urls());
        } else logger.info({ roles: options.roles, children: children(), supervisorPid: process.pid, ...urls() }, 'proxyhub started');
      }
    });
    child.once('exit', (code, signal) => exited(state, code, signal));
    child.once('error', (error) => {
      logger.error({ role: state.role, err: error.message }, `role ${state.role}: could not start its process`);
      if (child.pid === undefined) exited(state, null, null);
    });
  };

  const exited = (state: RoleState, code: number | null, signal: NodeJS.Signals | null): void => {
    if (state.child === undefined) return;
    state.child = undefined;
    if (phase === 'stopping') {
      state.failedStop = code !== 0;
      logger.info({ role: state.role, childPid: state.pid, code, signal }, `role ${state.role} stopped`);
      return settleIfStopped();
    }
    if (!state.started && phase === 'starting') {
      // The same outcome as a single process whose start failed: exit 1 (and the service
      // manager's restart policy applies), instead of looping on a broker that is not there.
      logger.error({ role: state.role, childPid: state.pid, code, signal }, `role ${state.role} exited before it started; stopping the other roles`);
      startFailed = true;
      return stop();
    }
    if (Date.now() - state.since >= RESTART_STABLE_MS) state.attempt = 0;
    const delay = restartDelayMs(state.attempt);
    state.attempt += 1;
    logger.warn({ role: state.role, childPid: state.pid, code, signal, restartInMs: delay, restarts: state.restarts }, `role ${state.role} exited; restarting it in ${delay} ms`);
    state.timer = setTimeout(() => {
      state.timer = undefined;
      state.restarts += 1;
      launch(state);
    }, delay);
  };

  const settleIfStopped = (): void => {
    if (phase !== 'stopping' || states.some((state) => state.child !== undefined)) return;
    clearTimeout(killTimer);
    finish(startFailed || states.some((state) => state.failedStop) ? 1 : 0);
  };

  const stop = (): void => {
    if (phase === 'stopping') return;
    phase = 'stopping';
    for (const state of states) {
      clearTimeout(state.timer);
      state.child?.kill('SIGTERM');
    }
    killTimer = setTimeout(() => {
      for (const state of states.filter((s) => s.child !== undefined)) {
        logger.error({ role: state.role, childPid: state.pid, stopTimeoutMs: options.stopTimeoutMs }, `role ${state.role} did not stop within ${options.stopTimeoutMs} ms; killing it`);
        state.child?.kill('SIGKILL');
      }
    }, options.stopTimeoutMs);
    settleIfStopped();
  };

  // `once`: a second Ctrl-C ends the supervisor at once; its children, whose IPC channel then
  // closes, finish their own shutdown (child-role.ts puts them in their own process group).
  const onSignal = (signal: NodeJS.Signals): void => {
    logger.info({ signal, children: children() }, 'shutting down');
    stop();
  };
  // A supervisor that is itself supervised (it has an IPC channel) stops when its own
  // supervisor is gone, so that its children never run on unsupervised.
  const onOrphaned = (): void => onSignal('SIGTERM');
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  if (process.connected) process.once('disconnect', onOrphaned);
  logger.info({ roles: options.roles, supervisorPid: process.pid }, `proxyhub starting: ${options.layout ?? 'one process per role'}`);
  for (const state of states) launch(state);
  return finished.finally(() => {
    process.removeListener('SIGTERM', onSignal);
    process.removeListener('SIGINT', onSignal);
    process.removeListener('disconnect', onOrphaned);
  });
}
