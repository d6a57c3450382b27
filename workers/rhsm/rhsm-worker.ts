/**
 * The synchronous half of `worker:rhsm`: answers the ingress's `/rhsm` requests by calling Katello
 * (katello-calls.ts) and replying with its status, headers and body unchanged, or with why Katello
 * could not be asked, which the ingress turns into a 503 (never a status of the hub's making).
 */
import { ProxyhubError, errorCodeOf, errorMessage } from '../../contracts/errors.ts';
import { RHSM_REPLY_TYPE, rhsmRequestSchema, type RhsmReply } from '../../contracts/rhsm/rhsm-rpc.ts';
import type { Topology } from '../../contracts/topology.ts';
import type { Consumer, Publisher } from '../../hub/bus/transport.ts';
import type { Logger } from '../../hub/log/logger.ts';
import type { ForemanClient } from '../runtime/foreman-client.ts';
import { createRpcServer, type RpcServer } from '../runtime/rpc-server.ts';
import { answerOf, katelloCallFor, type KatelloCallSettings } from './katello-calls.ts';

export interface RhsmWorkerOptions {
  readonly consumer: Consumer;
  readonly publisher: Publisher;
  /** Katello (PROXYHUB_RHSM_URL, else Foreman), with the proxy's certificate. */
  readonly katello: ForemanClient;
  readonly topology: Topology;
  readonly logger: Logger;
  readonly calls: KatelloCallSettings;
  readonly prefetch: number;
}

/** The reply must reach the ingress before its own deadline. */
const REPLY_MARGIN_MS = 500;
/** Below this a Katello call cannot be expected to finish. */
const MIN_CALL_MS = 200;

async function answer(options: RhsmWorkerOptions, body: Buffer): Promise<RhsmReply> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return { error: 'PROXYHUB_EVENT_INVALID', detail: 'request is not JSON' };
  }
  const request = rhsmRequestSchema.safeParse(parsed);
  if (!request.success) return { error: 'PROXYHUB_EVENT_INVALID', detail: request.error.issues[0]?.message ?? 'invalid request' };
  // A registration picked up after the host gave up must not create a consumer it never hears of.
  const remaining = request.data.deadline - Date.now() - REPLY_MARGIN_MS;
  if (remaining < MIN_CALL_MS) return { error: 'PROXYHUB_RPC_TIMEOUT', detail: 'picked up too late to answer in time' };
  let call;
  try {
    call = katelloCallFor(request.data, options.calls, remaining);
  } catch (error) {
    return { error: errorCodeOf(error), detail: errorMessage(error) };
  }
  try {
    return answerOf(await options.katello.forward(call));
  } catch (error) {
    // The detail goes to this log; the host is told only that Katello could not answer.
    options.logger.warn({ err: errorMessage(error), method: call.method, path: call.path }, 'Katello could not be asked');
    const timedOut = error instanceof ProxyhubError && /within \d+ ms/.test(error.message);
    return { error: timedOut ? 'PROXYHUB_RPC_TIMEOUT' : 'PROXYHUB_FOREMAN_UNAVAILABLE', detail: timedOut ? 'Katello did not answer in time' : 'Katello could not be reached' };
  }
}

export function createRhsmWorker(options: RhsmWorkerOptions): RpcServer {
  return createRpcServer({
    consumer: options.consumer,
    publisher: options.publisher,
    queue: options.topology.rpcQueue('rhsm'),
    prefetch: options.prefetch,
    logger: options.logger,
    replyType: RHSM_REPLY_TYPE,
    answer: (body) => answer(options, body),
  });
}
