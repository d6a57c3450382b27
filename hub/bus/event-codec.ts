/**
 * CloudEvents on AMQP: the whole envelope is the body (structured mode, so any transport carries
 * it unchanged) and the AMQP properties mirror the attributes (binary-mode names) for tools.
 */
import { CLOUDEVENTS_CONTENT_TYPE, envelopeSchema, type Envelope } from '../../contracts/envelope.ts';
import { ProxyhubError } from '../../contracts/errors.ts';
import { eventRegistry, isEventType, type EventData, type EventType } from '../../contracts/events/registry.ts';
import type { Delivery, OutgoingMessage } from './transport.ts';

type EncodeOptions = { routingKey?: string; headers?: Record<string, unknown>; mandatory?: boolean };

export function encodeEvent(envelope: Envelope, exchange: string, options: EncodeOptions = {}): OutgoingMessage {
  return encodeSerializedEvent(envelope, Buffer.from(JSON.stringify(envelope)), exchange, options);
}

/**
 * For a body already serialized from `envelope` by the caller (an ARF upload is streamed into
 * its message body as it arrives, never held as an object): the properties still come from the
 * envelope's attributes.
 */
export function encodeSerializedEvent(envelope: Omit<Envelope, 'data'>, body: Buffer, exchange: string, options: EncodeOptions = {}): OutgoingMessage {
  return {
    exchange,
    routingKey: options.routingKey ?? envelope.type,
    body,
    messageId: envelope.id,
    type: envelope.type,
    contentType: CLOUDEVENTS_CONTENT_TYPE,
    timestamp: Math.floor(Date.parse(envelope.time) / 1000),
    headers: {
      cloudEvents_source: envelope.source,
      ...(envelope.subject === undefined ? {} : { cloudEvents_subject: envelope.subject }),
      ...(envelope.traceparent === undefined ? {} : { traceparent: envelope.traceparent }),
      ...(envelope.clientcn === undefined ? {} : { cloudEvents_clientcn: envelope.clientcn }),
      ...options.headers,
    },
    ...(options.mandatory === undefined ? {} : { mandatory: options.mandatory }),
  };
}

export type DecodedEvent = { [T in EventType]: Envelope<T, EventData<T>> }[EventType];

/** Parses and validates a delivery; throws a permanent PROXYHUB_EVENT_* error on any mismatch. */
export function decodeEvent(delivery: Pick<Delivery, 'body'>): DecodedEvent {
  let json: unknown;
  try {
    json = JSON.parse(delivery.body.toString('utf8'));
  } catch (error) {
    throw new ProxyhubError('PROXYHUB_EVENT_INVALID', 'message body is not JSON', { cause: error });
  }
  const envelope = envelopeSchema.safeParse(json);
  if (!envelope.success) {
    const issue = envelope.error.issues[0];
    const field = issue?.path.join('.') || 'envelope';
    throw new ProxyhubError('PROXYHUB_EVENT_INVALID', `${field}: ${issue?.message}`, { field });
  }
  const { type } = envelope.data;
  if (!isEventType(type)) throw new ProxyhubError('PROXYHUB_EVENT_UNKNOWN_TYPE', `unknown event type ${type}`);
  const data = eventRegistry[type].safeParse(envelope.data.data);
  if (!data.success) {
    const issue = data.error.issues[0];
    const field = ['data', ...(issue?.path ?? [])].join('.');
    throw new ProxyhubError('PROXYHUB_EVENT_INVALID', `${field}: ${issue?.message}`, { field });
  }
  return { ...envelope.data, type, data: data.data } as DecodedEvent;
}
