/**
 * The resend ids of an ingress of several processes (`PROXYHUB_INGRESS_PROCESSES`,
 * cli/ingress-cluster.ts), shared through the primary (hub/cluster/peer-messages.ts): a host told
 * 503 that resends on a new connection may reach another process, which must know the first
 * attempt's id too. Only refused uploads' ids travel (rare: a broker that confirmed late), never
 * an accepted upload's.
 */
import { peerChannel, relayAmongPeers } from '../cluster/peer-messages.ts';
import type { ResendIdsChange, ResendShare } from './resend-ids.ts';

const TOPIC = 'proxyhub:resend-ids';

/** In a process of an ingress cluster: the share through the primary. Elsewhere: none. */
export function clusterResendShare(): ResendShare | undefined {
  return peerChannel<ResendIdsChange>(TOPIC);
}

/** In the primary: hands each process's change to every other process. */
export function relayResendIds(): void {
  relayAmongPeers(TOPIC);
}
