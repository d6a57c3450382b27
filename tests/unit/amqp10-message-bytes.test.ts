/**
 * The AMQP 1.0 messages proxyhub writes itself (hub/bus/amqp10/message-bytes.ts) against rhea's
 * own encoder of the same message: decoded by rhea, both must read the same, field by field and
 * with the same types, whatever the sizes (the short and long forms of strings and binaries).
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

/** What rhea reads back, as a plain object (tap compares its Dates and Buffers by value). */
function decoded(bytes: Buffer): Record<string, unknown> {
  return { ...rhea.message.decode(bytes) };
}

function sameAsRhea(t: Test, message: OutgoingMessage, replyTo?: string, what = 'same message'): void {
  const ours = encodeMessage(message, replyTo);
  const theirs = rhea.message.encode(toRheaMessage(message, replyTo));
  t.same(decoded(ours), decoded(theirs), what);
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

t.test('values beyond 32 bits and fractions go through rhea, unchanged', async (t) => {
  for (const value of [4_294_967_296, -2_147_483_648, 2 ** 53 - 1, 1.5, -0.25]) {
    const message = { ...base, headers: { value } };
    t.same(encodeMessage(message), rhea.message.encode(toRheaMessage(message)), `${value}: rhea's own bytes`);
  }
});

t.test('long forms: strings, symbols and bodies over 255 bytes', async (t) => {
  const long = 'x'.repeat(300);
  sameAsRhea(t, { ...base, messageId: long, routingKey: `r.${long}`, contentType: `application/${long}`, headers: { [long]: long } }, `/queue/${long}`, 'long strings everywhere');
  for (const size of [0, 1, 255, 256, 65_536, 1_048_576]) sameAsRhea(t, { ...base, body: Buffer.alloc(size, 7) }, undefined, `a ${size}-byte body`);
});
