/**
 * The resend ids of an ingress of several processes (`PROXYHUB_INGRESS_PROCESSES`,
 * cli/ingress-cluster.ts), shared over the cluster's IPC: a host told 503 that resends on a new
 * connection may reach another process, which must know the first attempt's id too. Only
 * refused uploads' ids travel (rare: a broker that confirmed late), never an accepted upload's.
 */
import cluster from 'node:cluster';
import { sendToPrimary } from '../telemetry/cluster-metrics.ts';
import type { ResendIdsChange, ResendShare } from './resend-ids.ts';

interface ResendIdsMessage {
  readonly type: 'proxyhub:resend-ids';
  readonly change: ResendIdsChange;
}

function isResendIdsMessage(message: unknown): message is ResendIdsMessage {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === 'proxyhub:resend-ids';
}

/** In a process of an ingress cluster: the share through the primary. Elsewhere: none. */
export function clusterResendShare(): ResendShare | undefined {
  if (!cluster.isWorker) return undefined;
  return {
    publish: (change) => sendToPrimary({ type: 'proxyhub:resend-ids', change } satisfies ResendIdsMessage),
    subscribe: (apply) =>
      void process.on('message', (message: unknown) => {
        if (isResendIdsMessage(message)) apply(message.change);
      }),
  };
}

/** In the primary: hands each process's change to every other process. */
export function relayResendIds(): void {
  cluster.on('message', (from, message: unknown) => {
    if (!isResendIdsMessage(message)) return;
    for (const worker of Object.values(cluster.workers ?? {})) if (worker !== undefined && worker !== from && worker.isConnected()) worker.send(message);
  });
}
