/**
 * An outgoing message as AMQP 1.0 bytes (the sections of the spec's part 3.2), written straight
 * into one buffer. rhea's own encoder wraps every field in a typed object, builds the sections as
 * object trees and then walks them, which was about a tenth of the AMQP 1.0 ingress's CPU per
 * upload, with its garbage. The bytes carry exactly what `toRheaMessage` describes, with the same
 * AMQP type for every field (the tests read both encodings type by type); a header value this
 * writer does not map (a fraction, an integer beyond rhea's int and uint), a timestamp with a
 * fraction of a millisecond or a content type that is not ASCII sends the message through rhea's
 * encoder instead, so no value is ever narrowed.
 */
import rhea from 'rhea';
import type { OutgoingMessage } from '../transport.ts';
import { Bytes, CODE, variableSize } from './amqp-bytes.ts';
import { TYPE_PROPERTY, toApplicationProperties, toRheaMessage } from './message.ts';

/** The transfer's message-format for a standard message: rhea sends pre-encoded bytes as they are only when given one. */
export const STANDARD_FORMAT = 0;

/** Section descriptors (part 3.2). */
const SECTION = { properties: 0x73, applicationProperties: 0x74, data: 0x75 } as const;

/** The header section, the same for every message: durable, nothing else set. */
const DURABLE_HEADER = Buffer.from([CODE.described, CODE.smallulong, 0x70, 0xc0, 0x02, 0x01, CODE.true]);

type Simple = string | number | boolean | null;

/** A content type is a symbol, and a symbol is ASCII. */
function isAscii(text: string): boolean {
  // Every character past ASCII takes two or more bytes in UTF-8.
  return Buffer.byteLength(text) === text.length;
}

/** A value written directly, or null when rhea must encode the message (see the header). */
function sizeOfValue(value: Simple): number | null {
  if (value === null || typeof value === 'boolean') return 1;
  if (typeof value === 'string') return variableSize(Buffer.byteLength(value));
  // rhea sends integers above 0 as uint and others as int down to -2^31 + 1 (below that, long):
  // the same here, within those bounds only.
  if (Number.isInteger(value) && value > -2_147_483_647 && value < 4_294_967_296) return 5;
  return null;
}

/** An application property's value, as rhea types it (see `sizeOfValue`). */
function writeValue(out: Bytes, value: Simple): void {
  if (value === null) out.byte(CODE.null);
  else if (typeof value === 'boolean') out.boolean(value);
  else if (typeof value === 'string') out.string(value);
  else if (value > 0) {
    out.byte(CODE.uint);
    out.uint32(value);
  } else {
    out.byte(CODE.int);
    out.int32(value);
  }
}

/** The properties section's fields in order, up to creation-time (the last one proxyhub sets). */
function propertyFields(message: OutgoingMessage, replyTo: string | undefined): Array<string | null> {
  // message-id, user-id, to, subject, reply-to, correlation-id: content-type and creation-time follow.
  return [message.messageId, null, null, message.routingKey, replyTo ?? null, message.correlationId ?? null];
}

export function encodeMessage(message: OutgoingMessage, replyTo?: string): Buffer {
  const throughRhea = (): Buffer => rhea.message.encode(toRheaMessage(message, replyTo));
  const creationMs = (message.timestamp ?? Math.floor(Date.now() / 1000)) * 1000;
  // rhea writes a timestamp through a Date, which truncates a fraction of a millisecond; and a
  // symbol must be ASCII (the content type always is here): anything else is left to rhea.
  if (!Number.isSafeInteger(creationMs) || !isAscii(message.contentType)) return throughRhea();
  const properties = { ...toApplicationProperties(message.headers), [TYPE_PROPERTY]: message.type };
  const entries = Object.entries(properties);
  let mapBytes = 0;
  for (const [key, value] of entries) {
    const size = sizeOfValue(value);
    if (size === null) return throughRhea();
    mapBytes += variableSize(Buffer.byteLength(key)) + size;
  }
  const fields = propertyFields(message, replyTo);
  // The six fields, content-type (a symbol), two empty fields, creation-time (a timestamp).
  let listBytes = variableSize(Buffer.byteLength(message.contentType)) + 2 + 9;
  for (const field of fields) listBytes += field === null ? 1 : variableSize(Buffer.byteLength(field));
  const body = message.body;
  const out = new Bytes(DURABLE_HEADER.length + (3 + 9 + listBytes) + (3 + 9 + mapBytes) + (3 + variableSize(body.length)));

  out.copy(DURABLE_HEADER);

  out.descriptor(SECTION.properties);
  out.compound(CODE.list32, listBytes, fields.length + 4);
  for (const field of fields) {
    if (field === null) out.byte(CODE.null);
    else out.string(field);
  }
  out.text(message.contentType, CODE.sym8, CODE.sym32);
  out.byte(CODE.null); // content-encoding
  out.byte(CODE.null); // absolute-expiry-time
  out.byte(CODE.timestamp);
  out.int64(BigInt(creationMs));

  out.descriptor(SECTION.applicationProperties);
  out.compound(CODE.map32, mapBytes, entries.length * 2);
  for (const [key, value] of entries) {
    out.string(key);
    writeValue(out, value);
  }

  out.descriptor(SECTION.data);
  out.prefix(body.length, CODE.vbin8, CODE.vbin32);
  out.copy(body);
  return out.filled('message');
}
