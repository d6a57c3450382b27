/**
 * The AMQP 1.0 messages proxyhub writes itself (hub/bus/amqp10/message-bytes.ts) against rhea's
 * own encoder of the same message. Both are read back twice: as AMQP values, section by section,
 * with the AMQP type of every field (the short and long forms of one type, str8 and str32 say,
 * counted as that type), and as the message rhea hands a consumer, compared strictly.
 */
import rhea from 'rhea';
import t, { type Test } from 'tap';
import { deliveryHeaders } from '../../contracts/delivery-headers.ts';
import { encodeMessage } from '../../hub/bus/amqp10/message-bytes.ts';
import { toRheaMessage } from '../../hub/bus/amqp10/message.ts';
import type { OutgoingMessage } from '../../hub/bus/transport.ts';

const base: OutgoingMessage = {
  exchange: 'ph.events',
  routingKey: 'facts.uploaded.v1',
  body: Buffer.from('{"specversion":"1.0"}'),
  messageId: '6f1d3c1e-8a51-4a5c-9a1e-0d7b1f1b2c3d',
  type: 'facts.uploaded.v1',
  contentType: 'application/cloudevents+json',
  timestamp: 1_764_900_000,
  headers: { cloudEvents_source: 'proxyhub/ingress/a1', cloudEvents_subject: 'host1.example.com', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
};

/** What rhea hands a consumer, as a plain object (tap compares its Dates and Buffers by value). */
function decoded(bytes: Buffer): Record<string, unknown> {
  return { ...rhea.message.decode(bytes) };
}

/** The parts of rhea's reader this test uses (its typings leave them out). */
interface TypedValue {
  readonly type: { readonly name: string };
  readonly value: unknown;
  readonly descriptor?: TypedValue;
}
const { Reader } = (rhea as unknown as { types: { Reader: new (buffer: Buffer) => { read(): TypedValue; remaining(): number } } }).types;

/** One AMQP type, whichever of its encodings: SmallUint, Uint0 and Uint are all Uint; Str8 and Str32 are Str. */
function family(name: string): string {
  if (name === 'True' || name === 'False') return 'Boolean';
  return name.replace(/^Small/, '').replace(/(0|8|32)$/, '');
}

/** Every section as AMQP types and values; a list's trailing nulls (fields left out) dropped. */
function typed(value: TypedValue): unknown {
  const descriptor = value.descriptor === undefined ? undefined : typed(value.descriptor);
  const type = family(value.type.name);
  if (Array.isArray(value.value)) {
    const items = (value.value as TypedValue[]).map(typed);
    while (type === 'List' && items.length > 0 && (items.at(-1) as { type: string }).type === 'Null') items.pop();
    return { descriptor, type, items };
  }
  const plain = Buffer.isBuffer(value.value) ? value.value.toString('hex') : value.value instanceof Date ? value.value.getTime() : value.value;
  return { descriptor, type, value: plain };
}

function sections(bytes: Buffer): unknown[] {
  const reader = new Reader(bytes);
  const read: unknown[] = [];
  while (reader.remaining() > 0) read.push(typed(reader.read()));
  return read;
}

function sameAsRhea(t: Test, message: OutgoingMessage, replyTo?: string, what = 'same message'): void {
  const ours = encodeMessage(message, replyTo);
  const theirs = rhea.message.encode(toRheaMessage(message, replyTo));
  t.strictSame(sections(ours), sections(theirs), `${what}: the same sections, fields and AMQP types`);
  t.strictSame(decoded(ours), decoded(theirs), `${what}: the same message for a consumer`);
  t.ok(ours.length <= theirs.length + 16, `${what}: no larger than rhea's own (${ours.length} against ${theirs.length} bytes)`);
}

t.test('an event as the ingress publishes it reads back as rhea would have sent it', async (t) => {
  sameAsRhea(t, base);
  const read = decoded(encodeMessage(base));
  t.equal(read.message_id, base.messageId);
  t.equal(read.subject, 'facts.uploaded.v1', 'the routing key as the subject');
  t.equal(read.content_type, 'application/cloudevents+json');
  t.equal(read.durable, true, 'durable');
  t.equal((read.creation_time as Date).getTime(), 1_764_900_000_000, 'the timestamp, in milliseconds');
  t.same(read.application_properties, { ...base.headers, cloudEvents_type: 'facts.uploaded.v1' });
  t.same((read.body as { content: Buffer }).content, base.body, 'the body as one data section, byte for byte');
});

t.test('requests and replies: reply-to and correlation id', async (t) => {
  sameAsRhea(t, { ...base, exchange: '', routingKey: 'ph.registration.requests', correlationId: 'c-42', headers: {} }, '/queue/amq.rabbitmq.reply-to.abc', 'a request');
  const { headers: _none, ...withoutHeaders } = base;
  sameAsRhea(t, { ...withoutHeaders, exchange: '', routingKey: 'amq.rabbitmq.reply-to.abc', correlationId: 'c-42' }, undefined, 'a reply without headers');
});

t.test('every header value a worker writes keeps its type', async (t) => {
  const headers = {
    [deliveryHeaders.attempt]: 3,
    zero: 0,
    negative: -17,
    largest: 4_294_967_295,
    flag: true,
    off: false,
    none: null,
    skipped: undefined,
    when: new Date('2026-12-05T10:00:00Z'),
    structured: { count: [{ queue: 'ph.facts' }] },
    'ünïcødé-kéy': 'välue ✓',
  };
  sameAsRhea(t, { ...base, headers });
  const properties = decoded(encodeMessage({ ...base, headers })).application_properties as Record<string, unknown>;
  t.equal(properties[deliveryHeaders.attempt], 3);
  t.equal(properties.negative, -17);
  t.equal(properties.when, '2026-12-05T10:00:00.000Z', 'a date as its ISO string');
  t.equal(properties.structured, '{"count":[{"queue":"ph.facts"}]}', 'structure as JSON');
  t.notOk('skipped' in properties, 'undefined is left out');
});

t.test('values beyond rhea\'s int and uint, fractions and fractional timestamps go through rhea, unchanged', async (t) => {
  for (const value of [4_294_967_296, -2_147_483_647, -2_147_483_648, 2 ** 53 - 1, 1.5, -0.25]) {
    const message = { ...base, headers: { value } };
    t.strictSame(encodeMessage(message), rhea.message.encode(toRheaMessage(message)), `${value}: rhea's own bytes`);
  }
  const fractional = { ...base, timestamp: 1_764_900_000.0004 };
  t.strictSame(encodeMessage(fractional), rhea.message.encode(toRheaMessage(fractional)), 'a timestamp with a fraction of a millisecond: rhea\'s own bytes');
  sameAsRhea(t, { ...base, timestamp: 1_764_900_000.5 }, undefined, 'a timestamp of whole milliseconds, written directly');
  const unicodeType = { ...base, contentType: 'application/jsön' };
  t.strictSame(encodeMessage(unicodeType), rhea.message.encode(toRheaMessage(unicodeType)), 'a content type that is not ASCII (a symbol must be): rhea\'s own bytes');
  sameAsRhea(t, { ...base, headers: { value: -2_147_483_646 } }, undefined, 'the lowest int written directly');
});

t.test('no timestamp: the time of sending, in whole seconds', async (t) => {
  const { timestamp: _none, ...untimed } = base;
  const before = Math.floor(Date.now() / 1000) * 1000;
  const read = decoded(encodeMessage(untimed));
  const sent = (read.creation_time as Date).getTime();
  t.ok(sent >= before && sent <= Date.now(), 'now, to the second');
  t.equal(sent % 1000, 0, 'whole seconds, as AMQP 0-9-1 carries it');
});

t.test('long forms: strings, symbols and bodies over 255 bytes', async (t) => {
  const long = 'x'.repeat(300);
  sameAsRhea(t, { ...base, messageId: long, routingKey: `r.${long}`, contentType: `application/${long}`, headers: { [long]: long } }, `/queue/${long}`, 'long strings everywhere');
  // Two-byte characters: 255 bytes is the last short form, 256 the first long one. (The content
  // type is a symbol, ASCII only; its long form is in the case above.)
  for (const text of [`a${'é'.repeat(127)}`, 'é'.repeat(128)]) {
    const bytes = Buffer.byteLength(text);
    sameAsRhea(t, { ...base, routingKey: text, headers: { [text]: text } }, text, `${bytes} bytes of UTF-8 in the subject, reply-to and a property`);
  }
  for (const size of [0, 1, 255, 256, 65_536, 1_048_576]) sameAsRhea(t, { ...base, body: Buffer.alloc(size, 7) }, undefined, `a ${size}-byte body`);
});
