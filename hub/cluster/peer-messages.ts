/**
 * Messages among the processes of one ingress (`PROXYHUB_INGRESS_PROCESSES`,
 * cli/ingress-cluster.ts): a process sends to the primary, which hands the message to every
 * other process. What travels is state each process must know of the others' (the ids of
 * refused uploads, how many requests each host made), never a request: nothing a host waits
 * for waits on another process.
 */
import cluster from 'node:cluster';

/**
 * To the primary, if it is still there: a process whose primary is gone is shutting down, and a
 * send on the closed channel would be an unhandled 'error' event.
 */
export function sendToPrimary(message: unknown): void {
  if (process.connected) process.send?.(message);
}

/** What the processes of one ingress tell each other on one topic. */
export interface PeerChannel<P> {
  /** To every other process of this ingress. */
  publish(payload: P): void;
  /** What every other process publishes. */
  subscribe(apply: (payload: P) => void): void;
}

interface PeerMessage {
  readonly type: string;
  readonly payload: unknown;
}

function isPeerMessage(message: unknown, type: string): message is PeerMessage {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === type && 'payload' in message;
}

/** In a process of an ingress cluster: the channel `type` through the primary. Elsewhere: none. */
export function peerChannel<P>(type: string): PeerChannel<P> | undefined {
  if (!cluster.isWorker) return undefined;
  return {
    publish: (payload) => sendToPrimary({ type, payload } satisfies PeerMessage),
    subscribe: (apply) =>
      void process.on('message', (message: unknown) => {
        if (isPeerMessage(message, type)) apply(message.payload as P);
      }),
  };
}

/** In the primary: hands each process's messages on `type` to every other process. */
export function relayAmongPeers(type: string): void {
  cluster.on('message', (from, message: unknown) => {
    if (!isPeerMessage(message, type)) return;
    for (const worker of Object.values(cluster.workers ?? {})) if (worker !== undefined && worker !== from && worker.isConnected()) worker.send(message);
  });
}
