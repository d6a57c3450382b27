/**
 * The one catalog of error codes. Every problem+json body, every dead-letter reason and every
 * log line that reports a failure names one of these codes. `docs/errors.md` documents each
 * code; tests/unit/errors-doc.test.ts keeps the two in step, and tests/unit/errors-used.test.ts
 * fails on a code that nothing raises or answers.
 *
 * `retryAfterSeconds` is the `Retry-After` every 503 and 429 answer carries: how long a client
 * should wait before sending the same request again.
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
  PROXYHUB_RATE_LIMITED: { status: 429, retryable: true, retryAfterSeconds: 60, title: 'Too many requests from this client' },
  PROXYHUB_BUS_UNAVAILABLE: { status: 503, retryable: true, retryAfterSeconds: 5, title: 'Message broker unavailable' },
  PROXYHUB_BUS_BLOCKED: { status: 503, retryable: true, retryAfterSeconds: 10, title: 'Message broker is applying flow control' },
  PROXYHUB_BUS_UNROUTABLE: { status: 503, retryable: true, retryAfterSeconds: 5, title: 'No queue accepted the event' },
  PROXYHUB_BUS_REFUSED: { status: 503, retryable: true, retryAfterSeconds: 2, title: 'Message broker refused the event' },
  PROXYHUB_BUS_TIMEOUT: { status: 503, retryable: true, retryAfterSeconds: 2, title: 'Message broker did not confirm in time' },
  PROXYHUB_BUS_TOPOLOGY_MISSING: { status: 503, retryable: true, retryAfterSeconds: 5, title: 'Broker topology is missing and this account may not declare it' },
  PROXYHUB_RPC_TIMEOUT: { status: 504, retryable: true, title: 'No worker answered in time' },
  PROXYHUB_RPC_NO_WORKER: { status: 503, retryable: true, retryAfterSeconds: 5, title: 'No worker is running for this request' },
  PROXYHUB_OVERLOADED: { status: 503, retryable: true, retryAfterSeconds: 1, title: 'Too many uploads in flight' },
  PROXYHUB_RPC_INFLIGHT_LIMIT: { status: 503, retryable: true, retryAfterSeconds: 2, title: 'Too many request bytes are waiting for workers' },
  PROXYHUB_SSE_STREAM_LIMIT: { status: 503, retryable: true, retryAfterSeconds: 30, title: 'Too many event streams are open' },
  PROXYHUB_PARSE_QUEUE_FULL: { status: 503, retryable: true, retryAfterSeconds: 2, title: 'Too many large bodies are waiting to be parsed' },
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
  PROXYHUB_REX_NO_TASK_IDS: { status: 422, retryable: false, title: 'A status request named no task ids' },
  PROXYHUB_REX_STORE_UNAVAILABLE: { status: 503, retryable: true, retryAfterSeconds: 5, title: 'Job store (Redis) unavailable' },
  PROXYHUB_REX_HOST_KEY_CHANGED: { status: 502, retryable: false, title: 'Target host key does not match the known one' },
  PROXYHUB_REX_SSH_FAILED: { status: 502, retryable: false, title: 'SSH connection or command failed' },
  PROXYHUB_REX_WORKER_DIED: { status: 500, retryable: false, title: 'The worker running a job died' },
  PROXYHUB_REX_TIMEOUT: { status: 504, retryable: false, title: 'A job ran past its timeout' },
  PROXYHUB_REX_CANCELLED: { status: 409, retryable: false, title: 'A job was cancelled' },
  PROXYHUB_REGISTRY_UNAVAILABLE: { status: 502, retryable: true, title: 'The upstream container registry could not be asked' },
  PROXYHUB_GATEWAY_STORE_UNAVAILABLE: { status: 503, retryable: true, retryAfterSeconds: 5, title: 'Container gateway tables (Redis) unavailable' },
  PROXYHUB_RHSM_UNAVAILABLE: { status: 503, retryable: true, retryAfterSeconds: 30, title: 'Katello could not answer subscription-manager through this proxy' },
  PROXYHUB_INTERNAL: { status: 500, retryable: true, title: 'Unexpected internal error' },
  PROXYHUB_CONFIG_INVALID: { status: 500, retryable: false, title: 'Configuration is invalid or unsafe' },
  PROXYHUB_START_TIMEOUT: { status: 503, retryable: true, retryAfterSeconds: 5, title: 'The process could not start within its start deadline' },
  PROXYHUB_START_INTERRUPTED: { status: 500, retryable: false, title: 'A stop signal arrived while the process was starting' },
} as const satisfies Record<string, CatalogEntry>;

interface CatalogEntry {
  readonly status: number;
  readonly retryable: boolean;
  readonly retryAfterSeconds?: number;
  readonly title: string;
}

export type ErrorCode = keyof typeof errorCatalog;

/** The `Retry-After` seconds the catalog gives a code, if its answers carry one. */
export function retryAfterOf(code: ErrorCode): number | undefined {
  const entry: CatalogEntry = errorCatalog[code];
  return entry.retryAfterSeconds;
}

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
    (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' && Object.hasOwn(errorCatalog, error.code))
  );
}

export function errorCodeOf(error: unknown): ErrorCode {
  return isProxyhubError(error) ? error.code : 'PROXYHUB_INTERNAL';
}

/**
 * Whether a failure should be tried again: a permanent error dead-letters, anything else
 * retries. Read from the catalog by code, so an error that lost its class on the way still
 * classifies, and an unclassified one is treated as transient (PROXYHUB_INTERNAL).
 */
export function isRetryable(error: unknown): boolean {
  return errorCatalog[errorCodeOf(error)].retryable;
}

/**
 * Whatever was thrown, as an Error. `throw` and promise rejections can carry any value (a
 * string, a plain object, an Error from another realm); those are wrapped, the original kept
 * as `cause`, and an error-like object keeps its `name` and `message`.
 */
export function coerceError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  if (typeof thrown === 'object' && thrown !== null && 'message' in thrown && typeof thrown.message === 'string') {
    const error = new Error(thrown.message, { cause: thrown });
    if ('name' in thrown && typeof thrown.name === 'string') error.name = thrown.name;
    return error;
  }
  return new Error(describe(thrown), { cause: thrown });
}

/** The message of whatever was thrown, for logs and reasons. */
export function errorMessage(thrown: unknown): string {
  return coerceError(thrown).message;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value !== 'object' || value === null) return String(value);
  try {
    // JSON.stringify answers undefined only for values it cannot represent; name their kind.
    return JSON.stringify(value) ?? Object.prototype.toString.call(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}
