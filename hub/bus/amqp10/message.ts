/**
 * The mapping between the transport's messages and AMQP 1.0 messages. The CloudEvent envelope is
 * the body, whole (one data section, which brokers pass to 0-9-1 peers as the plain bytes); the
 * delivery headers the workers write (contracts/delivery-headers.ts) become application
 * properties, which carry only simple values, so each one is mapped explicitly.
 */
import type { Message } from 'rhea';
import rhea from 'rhea';
import type { Addresses } from './addresses.ts';
import type { Delivery, OutgoingMessage } from '../transport.ts';

/** The event type: 0-9-1 has a `type` property, AMQP 1.0 does not (CloudEvents AMQP binding name). */
export const TYPE_PROPERTY = 'cloudEvents_type';

type Simple = string | number | boolean | null;

/**
 * Application property values must be scalars. Numbers and strings (everything proxyhub writes)
 * pass unchanged; dates become ISO strings; anything structured (a broker's `x-death` list copied
 * by a 0-9-1 tool) becomes JSON rather than making the whole send fail.
 */
export function toApplicationProperties(headers: Readonly<Record<string, unknown>> = {}): Record<string, Simple> {
  const properties: Record<string, Simple> = {};
  for (const [key, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    if (value === null || typeof value === 'string' || typeof value === 'boolean') properties[key] = value;
    else if (typeof value === 'number') properties[key] = Number.isFinite(value) ? value : String(value);
    else if (typeof value === 'bigint') properties[key] = Number(value);
    else if (value instanceof Date) properties[key] = value.toISOString();
    else properties[key] = JSON.stringify(value);
  }
  return properties;
}

/** `replyTo` is already in the address scheme's reply-to form. */
export function toRheaMessage(message: OutgoingMessage, replyTo?: string): Message {
  return {
    message_id: message.messageId,
    ...(message.correlationId === undefined ? {} : { correlation_id: message.correlationId }),
    ...(replyTo === undefined ? {} : { reply_to: replyTo }),
    // The routing key, as RabbitMQ fills it in for 0-9-1 publishes; informational here.
    subject: message.routingKey,
    content_type: message.contentType,
    creation_time: new Date((message.timestamp ?? Math.floor(Date.now() / 1000)) * 1000),
    durable: true,
    application_properties: { ...toApplicationProperties(message.headers), [TYPE_PROPERTY]: message.type },
    body: rhea.message.data_section(message.body) as unknown, // rhea types its sections as any
  };
}

/** The body as bytes, whatever section the producer chose (0-9-1 producers give a data section). */
export function bodyOf(message: Message): Buffer {
  const body: unknown = message.body;
  if (Buffer.isBuffer(body)) return body;
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  if (body && typeof body === 'object' && 'content' in body) {
    const content = body.content;
    if (Buffer.isBuffer(content)) return content;
    if (typeof content === 'string') return Buffer.from(content, 'utf8');
    return Buffer.from(JSON.stringify(content ?? null));
  }
  return Buffer.from(JSON.stringify(body ?? null));
}

function idOf(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- AMQP ids are strings, numbers or UUIDs, which print as themselves
  return Buffer.isBuffer(value) ? value.toString('hex') : String(value);
}

/** A Delivery's fields (every one present, possibly undefined), plus two that only the stream reader needs. */
export interface ReceivedFields extends Required<Omit<Delivery, 'ack' | 'requeue'>> {
  readonly timestamp: number | undefined;
  readonly contentType: string | undefined;
}

/** What a Delivery exposes, read from a received message. */
export function receivedFields(message: Message, addresses: Addresses): ReceivedFields {
  const properties: Record<string, unknown> = { ...(message.application_properties ?? {}) };
  const type = properties[TYPE_PROPERTY];
  delete properties[TYPE_PROPERTY];
  const annotations = (message.message_annotations ?? {}) as Record<string, unknown>;
  const routingKey = annotations['x-routing-key'] ?? message.subject ?? '';
  const created = message.creation_time;
  return {
    body: bodyOf(message),
    messageId: idOf(message.message_id),
    type: typeof type === 'string' ? type : undefined,
    // eslint-disable-next-line @typescript-eslint/no-base-to-string -- an annotation or the subject: a string
    routingKey: String(routingKey),
    headers: properties,
    // RabbitMQ 3.x leaves delivery-count empty and sets first-acquirer from `redelivered`.
    redelivered: (message.delivery_count ?? 0) > 0 || message.first_acquirer === false,
    replyTo: message.reply_to === undefined ? undefined : addresses.replyQueue(message.reply_to),
    correlationId: idOf(message.correlation_id),
    timestamp: created instanceof Date ? Math.floor(created.getTime() / 1000) : undefined,
    contentType: message.content_type,
  };
}
