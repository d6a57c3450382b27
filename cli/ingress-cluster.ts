/**
 * An ingress of several processes on one port (`PROXYHUB_INGRESS_PROCESSES` > 1). One event loop
 * reads, parses and answers every request, refusals included; on a loaded machine it is the
 * ingress's bottleneck while other cores still have time. This process becomes a Node cluster
 * primary: it forks that many ingress processes, which listen on the same port and get the
 * connections in turn, and supervises them as `proxyhub start` supervises roles
 * (cli/supervisor.ts: a crashed one restarted with backoff, one log stream, all stopped on
 * SIGTERM). It serves the processes' summed metrics (hub/telemetry/cluster-metrics.ts), relays
 * the ids of refused uploads (hub/ingress/resend-share.ts) and the hosts' request counts for the
 * rate limit (hub/http/host-rate-counts.ts) between them, and runs nothing else: no broker
 * connection, no listener of its own.
 */
import cluster from 'node:cluster';
import type { ChildProcess } from 'node:child_process';
import type { Logger } from '../hub/log/logger.ts';
import { relayResendIds } from '../hub/ingress/resend-share.ts';
import { relayAmongPeers } from '../hub/cluster/peer-messages.ts';
import { HOST_RATE_COUNTS_TOPIC } from '../hub/http/host-rate-counts.ts';
import { serveClusterMetrics } from '../hub/telemetry/cluster-metrics.ts';
import { relayLines, type RoleStartedMessage } from './child-role.ts';
import { runSupervisor } from './supervisor.ts';

export interface IngressClusterOptions {
  readonly processes: number;
  readonly logger: Logger;
  /** After SIGTERM, how long a process may take to stop before it is killed. */
  readonly stopTimeoutMs: number;
  /** This primary is one role of a supervised hub: it reports its start over IPC. */
  readonly supervised: boolean;
}

/** Runs the ingress processes until a signal (0 when all stopped cleanly) or a failed start (1). */
export function runIngressCluster(options: IngressClusterOptions): Promise<number> {
  // The same entry and Node flags as this process (cluster's defaults); `--supervised` makes each
  // report its start here. The environment is this process's: an ingress child of a supervised
  // hub was already started without the Foreman credentials (child-role.ts).
  cluster.setupPrimary({ args: ['start', '--role', 'ingress', '--supervised'], stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  serveClusterMetrics();
  relayResendIds();
  relayAmongPeers(HOST_RATE_COUNTS_TOPIC);
  const fork = (): ChildProcess => {
    const worker = cluster.fork();
    relayLines(worker.process.stdout, process.stdout);
    relayLines(worker.process.stderr, process.stderr);
    return worker.process;
  };
  const report = (urls: { ingressUrl?: string }): void => {
    const started: RoleStartedMessage = { type: 'proxyhub:role-started', ...(urls.ingressUrl === undefined ? {} : { ingressUrl: urls.ingressUrl }) };
    process.send?.(started);
  };
  return runSupervisor({
    roles: Array.from({ length: options.processes }, (_, index) => `ingress#${index + 1}`),
    logger: options.logger,
    stopTimeoutMs: options.stopTimeoutMs,
    fork,
    layout: `${options.processes} ingress processes sharing its port`,
    ...(options.supervised ? { onStarted: report } : {}),
  });
}
