/**
 * The registration worker (smart-proxy features `registration` and `templates`): answers the
 * ingress's requests by calling Foreman with this worker's own client certificate, and replies
 * with Foreman's status and body, or with why Foreman could not be asked.
 */
import { ProxyhubError, errorCodeOf, errorMessage } from '../../contracts/errors.ts';
import { foremanRequestSchema, type ForemanReply } from '../../contracts/rpc/foreman-request.ts';
import type { Topology } from '../../contracts/topology.ts';
import type { Logger } from '../../hub/log/logger.ts';
import type { Consumer, Publisher } from '../../hub/bus/transport.ts';
import type { ForemanClient } from '../runtime/foreman-client.ts';
import { foremanCallFor, type ForwardingSettings } from './forwarding.ts';
import { createRpcServer, type RpcServer } from '../runtime/rpc-server.ts';
import type { Tracing } from '../../hub/telemetry/trace-context.ts';

export interface RegistrationWorkerOptions {
  readonly consumer: Consumer;
  readonly publisher: Publisher;
  readonly foreman: ForemanClient;
  readonly topology: Topology;
  readonly logger: Logger;
  readonly forwarding: ForwardingSettings;
  /** Upper bound for one Foreman call. */
  readonly foremanTimeoutMs: number;
  readonly prefetch: number;
  /** Each answer a hop of the ingress request's trace. @defaultValue none */
  readonly tracing?: Tracing | undefined;
}

/** The reply must reach the ingress before its own deadline. */
const REPLY_MARGIN_MS = 500;
/** Below this a Foreman call cannot be expected to finish. */
const MIN_CALL_MS = 200;

async function answer(options: RegistrationWorkerOptions, body: Buffer): Promise<ForemanReply> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return { error: 'PROXYHUB_EVENT_INVALID', detail: 'request is not JSON' };
  }
  const request = foremanRequestSchema.safeParse(parsed);
  if (!request.success) return { error: 'PROXYHUB_EVENT_INVALID', detail: request.error.issues[0]?.message ?? 'invalid request' };
  if (request.data.kind === 'template-server') {
    // The smart-proxy answers this itself, from its template_url setting.
    const templateServer = options.forwarding.templateUrl ?? '';
    return { status: 200, contentType: 'application/json', body: Buffer.from(JSON.stringify({ templateServer })).toString('base64') };
  }
  // The ingress gives up at its deadline; a request picked up too late (or redelivered after a
  // worker crash) must not still register a host the client will be told has failed.
  const remaining = request.data.deadline - Date.now() - REPLY_MARGIN_MS;
  if (remaining < MIN_CALL_MS) return { error: 'PROXYHUB_RPC_TIMEOUT', detail: 'picked up too late to answer in time' };
  let call;
  try {
    call = foremanCallFor(request.data, options.forwarding, Math.min(options.foremanTimeoutMs, remaining));
  } catch (error) {
    return { error: 'PROXYHUB_EVENT_INVALID', detail: errorMessage(error) };
  }
  try {
    const result = await options.foreman.forward(call);
    return { status: result.status, ...(result.contentType ? { contentType: result.contentType } : {}), ...(result.location ? { location: result.location } : {}), body: result.body.toString('base64') };
  } catch (error) {
    // The detail goes to this log, not to the unauthenticated client (addresses, TLS names).
    options.logger.warn({ err: errorMessage(error), kind: request.data.kind }, 'Foreman could not be asked');
    const timedOut = error instanceof ProxyhubError && /within \d+ ms/.test(error.message);
    return { error: timedOut ? 'PROXYHUB_RPC_TIMEOUT' : errorCodeOf(error), detail: timedOut ? 'Foreman did not answer in time' : 'Foreman could not be reached' };
  }
}

export function createRegistrationWorker(options: RegistrationWorkerOptions): RpcServer {
  return createRpcServer({
    consumer: options.consumer,
    publisher: options.publisher,
    queue: options.topology.rpcQueue('registration'),
    prefetch: options.prefetch,
    logger: options.logger,
    answer: (body) => answer(options, body),
    tracing: options.tracing,
  });
}
