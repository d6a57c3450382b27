import { randomUUID } from 'node:crypto';
import type { Envelope } from '../envelope.ts';
import type { EventData, EventType } from './registry.ts';

export interface EventOrigin {
  /** URI-reference of the producer, e.g. `proxyhub/ingress/<instance>`. */
  source: string;
  subject?: string;
  /** W3C trace context of the hop that produced the event (hub/telemetry/trace-context.ts). */
  traceparent?: string | undefined;
  /** CN of the verified client certificate, when the upload came with one. */
  clientcn?: string | undefined;
  /** Set when the event id must be derived (for example from the event it came from). */
  id?: string;
  time?: Date;
}

export function createEvent<T extends EventType>(type: T, data: EventData<T>, origin: EventOrigin): Envelope<T, EventData<T>> {
  return {
    specversion: '1.0',
    id: origin.id ?? randomUUID(),
    source: origin.source,
    type,
    time: (origin.time ?? new Date()).toISOString(),
    ...(origin.subject === undefined ? {} : { subject: origin.subject }),
    datacontenttype: 'application/json',
    ...(origin.traceparent === undefined || origin.traceparent === '' ? {} : { traceparent: origin.traceparent }),
    ...(origin.clientcn === undefined ? {} : { clientcn: origin.clientcn }),
    data,
  };
}
