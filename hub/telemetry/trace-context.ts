/**
 * W3C trace context (`traceparent`) for every hop of an upload: the ingress request, the event
 * on the bus, the worker's delivery and its call to Foreman.
 *
 * The OpenTelemetry API is a no-op until an SDK is registered, and most deployments register
 * none. So the context is proxyhub's own string, kept whatever the SDK does: a valid incoming
 * `traceparent` keeps its trace id and flags and gets a new span id per hop; a missing or
 * malformed one starts a new trace, marked sampled (our access log records it, and a Foreman
 * that traces with a parent-based sampler then keeps the same requests). When an SDK *is*
 * registered before proxyhub starts (`node --import <your OpenTelemetry setup>`), each hop is
 * also a real span of that SDK, parented on the same context, and the header carries that
 * span's ids; exporting it is the SDK's business, off unless the operator sets one up.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomFillSync } from 'node:crypto';
import { errorMessage } from '../../contracts/errors.ts';
import { ProxyTracerProvider, ROOT_CONTEXT, SpanKind, SpanStatusCode, context, isSpanContextValid, trace, type Context, type Span, type SpanContext } from '@opentelemetry/api';

/** `00-<32 hex trace id>-<16 hex span id>-<2 hex flags>`. */
export const TRACEPARENT_LENGTH = 55;
const SAMPLED = '01';

/** Random bytes drawn in blocks: one system call per 256 span ids, not one per id. */
const pool = Buffer.alloc(4096);
let poolOffset = pool.length;

function randomHex(bytes: number): string {
  if (poolOffset + bytes > pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const hex = pool.toString('hex', poolOffset, poolOffset + bytes);
  poolOffset += bytes;
  return hex;
}

/** Lower-case hex between `from` and `to`; with `nonZero`, not all zeros either (W3C's invalid ids). */
function isLowerHex(text: string, from: number, to: number, nonZero: boolean): boolean {
  let seenNonZero = false;
  for (let i = from; i < to; i += 1) {
    const code = text.charCodeAt(i);
    if (!((code >= 48 && code <= 57) || (code >= 97 && code <= 102))) return false;
    if (code !== 48) seenNonZero = true;
  }
  return seenNonZero || !nonZero;
}

/**
 * True for a version-00 `traceparent` with non-zero ids (the W3C rules). Later versions, which
 * may append fields, are refused rather than half-read: the hop then starts a new trace.
 */
export function isValidTraceparent(value: unknown): value is string {
  return (
    typeof value === 'string' &&
    value.length === TRACEPARENT_LENGTH &&
    value.charCodeAt(0) === 48 &&
    value.charCodeAt(1) === 48 &&
    value[2] === '-' &&
    value[35] === '-' &&
    value[52] === '-' &&
    isLowerHex(value, 3, 35, true) &&
    isLowerHex(value, 36, 52, true) &&
    isLowerHex(value, 53, 55, false)
  );
}

/** The trace id of a valid `traceparent` (what log lines carry). */
export function traceIdOf(traceparent: string): string {
  return traceparent.slice(3, 35);
}

/** A new hop of `parent`'s trace (same trace id and flags, new span id), or a new sampled trace. */
export function nextTraceparent(parent: unknown): string {
  if (isValidTraceparent(parent)) return `00-${parent.slice(3, 35)}-${randomHex(8)}-${parent.slice(53)}`;
  return `00-${randomHex(16)}-${randomHex(8)}-${SAMPLED}`;
}

function spanContextOf(traceparent: string): SpanContext {
  return { traceId: traceparent.slice(3, 35), spanId: traceparent.slice(36, 52), traceFlags: Number.parseInt(traceparent.slice(53), 16), isRemote: true };
}

function traceparentOf(span: SpanContext): string {
  return `00-${span.traceId}-${span.spanId}-${span.traceFlags.toString(16).padStart(2, '0')}`;
}

export type HopKind = 'server' | 'consumer' | 'client';
const KINDS = { server: SpanKind.SERVER, consumer: SpanKind.CONSUMER, client: SpanKind.CLIENT } as const;

/** One hop: the `traceparent` to send on, and the SDK span behind it when there is one. */
export interface Hop {
  readonly traceparent: string;
  /** Ends the SDK span (no-op without an SDK); an error marks it failed. */
  end(error?: unknown): void;
  /** Runs `fn` with this hop as the current context (outbound calls inside it continue it). */
  run<T>(fn: () => T): T;
}

export interface Tracing {
  /** True when an OpenTelemetry SDK was registered before this process started tracing. */
  readonly sdk: boolean;
  /** A new hop continuing `parent` (a `traceparent`, or anything else to start a trace). */
  hop(name: string, parent: unknown, kind: HopKind): Hop;
  /** The `traceparent` of the hop the caller runs in, if any (outbound calls continue it). */
  current(): string | undefined;
}

const currentHop = new AsyncLocalStorage<string>();

function sdkRegistered(): boolean {
  const provider = trace.getTracerProvider();
  // The API's global is a proxy that delegates to a registered SDK's provider, or to nothing.
  if (provider instanceof ProxyTracerProvider) return provider.getDelegateTracer('proxyhub') !== undefined;
  // Another copy of the API handed us something else: ask it for a span (the no-op one has no ids).
  const probe = provider.getTracer('proxyhub').startSpan('proxyhub.probe');
  probe.end();
  return isSpanContextValid(probe.spanContext());
}

function plainHop(traceparent: string): Hop {
  return { traceparent, end: () => undefined, run: (fn) => currentHop.run(traceparent, fn) };
}

function sdkHop(span: Span, parentContext: Context): Hop {
  const traceparent = traceparentOf(span.spanContext());
  const active = trace.setSpan(parentContext, span);
  return {
    traceparent,
    end(error) {
      if (error !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: errorMessage(error) });
      span.end();
    },
    run: (fn) => context.with(active, () => currentHop.run(traceparent, fn)),
  };
}

/** Decided once: an SDK registers itself before the application's code runs, or not at all. */
export function createTracing(): Tracing {
  const sdk = sdkRegistered();
  const tracer = trace.getTracer('proxyhub');
  return {
    sdk,
    hop(name, parent, kind) {
      if (!sdk) return plainHop(nextTraceparent(parent));
      const parentContext = isValidTraceparent(parent) ? trace.setSpanContext(ROOT_CONTEXT, spanContextOf(parent)) : ROOT_CONTEXT;
      return sdkHop(tracer.startSpan(name, { kind: KINDS[kind] }, parentContext), parentContext);
    },
    current: () => currentHop.getStore(),
  };
}
