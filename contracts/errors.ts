/**
 * The one catalog of error codes. Every problem+json body, every dead-letter reason and every
 * log line that reports a failure names one of these codes. `docs/errors.md` documents each
 * code; tests/unit/errors-doc.test.ts keeps the two in step.
 */
export const errorCatalog = {
  PROXYHUB_INPUT_INVALID: { status: 400, retryable: false, title: 'Request failed validation' },
  PROXYHUB_INPUT_MALFORMED: { status: 400, retryable: false, title: 'Request body could not be parsed' },
  PROXYHUB_INPUT_TOO_LARGE: { status: 413, retryable: false, title: 'Request body is over the route limit' },
  PROXYHUB_INPUT_MEDIA_TYPE: { status: 415, retryable: false, title: 'Unsupported content type' },
  PROXYHUB_ROUTE_NOT_FOUND: { status: 404, retryable: false, title: 'No such route' },
  PROXYHUB_AUTH_CERT_REQUIRED: { status: 403, retryable: false, title: 'A verified client certificate is required' },
  PROXYHUB_AUTH_NOT_TRUSTED: { status: 403, retryable: false, title: 'Client is not in trusted_hosts' },
  PROXYHUB_AUTH_HOST_MISMATCH: { status: 403, retryable: false, title: 'Upload names another host than the client certificate' },
  PROXYHUB_RATE_LIMITED: { status: 429, retryable: true, title: 'Too many requests from this client' },
  PROXYHUB_BUS_UNAVAILABLE: { status: 503, retryable: true, title: 'Message broker unavailable' },
  PROXYHUB_BUS_BLOCKED: { status: 503, retryable: true, title: 'Message broker is applying flow control' },
  PROXYHUB_BUS_UNROUTABLE: { status: 503, retryable: true, title: 'No queue accepted the event' },
  PROXYHUB_BUS_REFUSED: { status: 503, retryable: true, title: 'Message broker refused the event' },
  PROXYHUB_BUS_TIMEOUT: { status: 503, retryable: true, title: 'Message broker did not confirm in time' },
  PROXYHUB_BUS_TOPOLOGY_MISSING: { status: 503, retryable: true, title: 'Broker topology is missing and this account may not declare it' },
  PROXYHUB_RPC_TIMEOUT: { status: 504, retryable: true, title: 'No worker answered in time' },
  PROXYHUB_RPC_NO_WORKER: { status: 503, retryable: true, title: 'No worker is running for this request' },
  PROXYHUB_OVERLOADED: { status: 503, retryable: true, title: 'Too many uploads in flight' },
  PROXYHUB_RPC_INFLIGHT_LIMIT: { status: 503, retryable: true, title: 'Too many request bytes are waiting for workers' },
  PROXYHUB_SSE_STREAM_LIMIT: { status: 503, retryable: true, title: 'Too many event streams are open' },
  PROXYHUB_PARSE_QUEUE_FULL: { status: 503, retryable: true, title: 'Too many large bodies are waiting to be parsed' },
  PROXYHUB_EVENT_INVALID: { status: 422, retryable: false, title: 'Event failed its contract' },
  PROXYHUB_EVENT_UNKNOWN_TYPE: { status: 422, retryable: false, title: 'No handler for this event type' },
  PROXYHUB_ARF_UNPARSEABLE: { status: 422, retryable: false, title: 'ARF report could not be decompressed or parsed' },
  PROXYHUB_ARF_REPORT_TOO_LARGE: { status: 422, retryable: false, title: 'The report built from an ARF is over the report limit' },
  PROXYHUB_ARF_NOT_FOUND: { status: 404, retryable: false, title: 'No stored ARF report with this digest' },
  PROXYHUB_STORAGE_FAILED: { status: 500, retryable: true, title: 'Local storage could not be written or read' },
  PROXYHUB_OSCAP_UNAVAILABLE: { status: 501, retryable: false, title: 'The oscap tool is not installed' },
  PROXYHUB_FOREMAN_REJECTED: { status: 502, retryable: false, title: 'Foreman rejected the delivery' },
  PROXYHUB_FOREMAN_UNAVAILABLE: { status: 502, retryable: true, title: 'Foreman unreachable or failing' },
  PROXYHUB_DELIVERY_EXHAUSTED: { status: 502, retryable: false, title: 'Delivery retried past its deadline' },
  PROXYHUB_DELIVERY_LIMIT: { status: 502, retryable: false, title: 'Broker delivery limit reached' },
  PROXYHUB_REX_UNKNOWN_OPERATION: { status: 404, retryable: false, title: 'Unknown remote execution operation' },
  PROXYHUB_REX_TASK_NOT_FOUND: { status: 404, retryable: false, title: 'No such remote execution task' },
  PROXYHUB_REX_STORE_UNAVAILABLE: { status: 503, retryable: true, title: 'Job store (Redis) unavailable' },
  PROXYHUB_REX_HOST_KEY_CHANGED: { status: 502, retryable: false, title: 'Target host key does not match the known one' },
  PROXYHUB_REX_SSH_FAILED: { status: 502, retryable: false, title: 'SSH connection or command failed' },
  PROXYHUB_REX_WORKER_DIED: { status: 500, retryable: false, title: 'The worker running a job died' },
  PROXYHUB_REX_TIMEOUT: { status: 504, retryable: false, title: 'A job ran past its timeout' },
  PROXYHUB_REX_CANCELLED: { status: 409, retryable: false, title: 'A job was cancelled' },
  PROXYHUB_INTERNAL: { status: 500, retryable: true, title: 'Unexpected internal error' },
  PROXYHUB_CONFIG_INVALID: { status: 500, retryable: false, title: 'Configuration is invalid or unsafe' },
  PROXYHUB_START_TIMEOUT: { status: 503, retryable: true, title: 'The process could not start within its start deadline' },
  PROXYHUB_START_INTERRUPTED: { status: 503, retryable: false, title: 'A stop signal arrived while the process was starting' },
} as const satisfies Record<string, { status: number; retryable: boolean; title: string }>;

export type ErrorCode = keyof typeof errorCatalog;

/** An error that carries a catalog code. `retryable` decides what a worker does next. */
export class ProxyhubError extends Error {
  override readonly name: string = 'ProxyhubError';
  readonly code: ErrorCode;
  readonly status: number;
  readonly retryable: boolean;
  readonly field: string | undefined;
  /** Which part of a request `field` is in, for a 4xx answer. @defaultValue 'body' */
  readonly location: 'body' | 'params' | 'querystring' | 'headers';

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; field?: string; location?: ProxyhubError['location'] } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = errorCatalog[code].status;
    this.retryable = errorCatalog[code].retryable;
    this.field = options.field;
    this.location = options.location ?? 'body';
  }
}

/** Duck-typed so that errors crossing a process or a module copy still classify. */
export function isProxyhubError(error: unknown): error is ProxyhubError {
  return (
    error instanceof ProxyhubError ||
    (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' && error.code in errorCatalog)
  );
}

export function errorCodeOf(error: unknown): ErrorCode {
  return isProxyhubError(error) ? error.code : 'PROXYHUB_INTERNAL';
}
