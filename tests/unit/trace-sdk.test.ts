/**
 * With an OpenTelemetry SDK registered before proxyhub starts tracing, each hop is also a span
 * of that SDK, parented on the incoming context, and the `traceparent` sent on is that span's.
 * A recording stand-in for an SDK's tracer provider (the API's own interfaces, no SDK package)
 * plays the SDK; it is registered globally, so this file is alone in its process.
 */
import t from 'tap';
import { SpanStatusCode, TraceFlags, trace, type Context, type Span, type SpanContext, type SpanOptions, type Tracer, type TracerProvider } from '@opentelemetry/api';
import { createTracing, nextTraceparent, traceIdOf } from '../../hub/telemetry/trace-context.ts';

interface Recorded {
  readonly name: string;
  readonly kind: number | undefined;
  readonly parent: SpanContext | undefined;
  readonly context: SpanContext;
  ended: boolean;
  status: number | undefined;
}

const recorded: Recorded[] = [];
let counter = 0;
const hex = (n: number, width: number): string => n.toString(16).padStart(width, '0');

const tracer: Tracer = {
  startSpan(name: string, options?: SpanOptions, context?: Context): Span {
    counter += 1;
    const parent = context === undefined ? undefined : trace.getSpanContext(context);
    const spanContext: SpanContext = { traceId: parent?.traceId ?? hex(counter, 32), spanId: hex(counter, 16), traceFlags: parent?.traceFlags ?? TraceFlags.SAMPLED };
    const entry: Recorded = { name, kind: options?.kind, parent, context: spanContext, ended: false, status: undefined };
    recorded.push(entry);
    const span = {
      spanContext: () => spanContext,
      setStatus: (status: { code: number }) => ((entry.status = status.code), span),
      end: () => void (entry.ended = true),
      isRecording: () => true,
    };
    return span as unknown as Span;
  },
  startActiveSpan: (() => {
    throw new Error('not used');
  }),
};
const provider: TracerProvider = { getTracer: () => tracer };
trace.setGlobalTracerProvider(provider);

t.test('each hop is an SDK span continuing the caller’s context', async (t) => {
  const tracing = createTracing();
  t.equal(tracing.sdk, true, 'the SDK is seen');
  const incoming = nextTraceparent(undefined);
  const hop = tracing.hop('POST /api/v2/hosts/facts', incoming, 'server');
  const span = recorded.at(-1);
  t.equal(span?.parent?.traceId, traceIdOf(incoming), 'parented on the incoming trace');
  t.equal(span?.parent?.spanId, incoming.slice(36, 52));
  t.equal(span?.parent?.isRemote, true);
  t.equal(hop.traceparent, `00-${traceIdOf(incoming)}-${span?.context.spanId ?? ''}-01`, 'the header carries the SDK span');
  const inner = hop.run(() => tracing.hop('POST /api/v2/hosts/facts', tracing.current(), 'client'));
  t.equal(recorded.at(-1)?.parent?.spanId, span?.context.spanId, 'a call inside the hop is its child');
  inner.end(new Error('Foreman said 500'));
  t.equal(recorded.at(-1)?.status, SpanStatusCode.ERROR, 'a failure marks the span');
  hop.end();
  t.ok(recorded.every((entry) => entry.ended), 'every span ended');
  const root = tracing.hop('deliver', 'not a traceparent', 'consumer');
  t.equal(recorded.at(-1)?.parent, undefined, 'a malformed header starts a root span');
  root.end();
});
