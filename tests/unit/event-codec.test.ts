/**
 * CloudEvents on AMQP: the envelope travels whole in the body and the AMQP properties mirror its
 * attributes; decoding refuses anything that is not a registered event matching its contract,
 * always with a permanent (non-retryable) error so the worker dead-letters it.
 */
import t from 'tap';
import { CLOUDEVENTS_CONTENT_TYPE, type Envelope } from '../../contracts/envelope.ts';
import { isProxyhubError } from '../../contracts/errors.ts';
import { createEvent } from '../../contracts/events/create-event.ts';
import type { FactsUpload } from '../../contracts/events/facts-uploaded.ts';
import { decodeEvent, encodeEvent } from '../../hub/bus/event-codec.ts';

const TIME = new Date('2024-05-06T07:08:09.750Z');
const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

const makeFactsUpload = (overrides: Partial<FactsUpload> = {}): FactsUpload => ({
  name: 'host1.example.com',
  facts: { _type: 'puppet', operatingsystem: 'RedHat', 'networking::fqdn': 'host1.example.com' },
  ...overrides,
});

const makeFactsEvent = (overrides: Partial<FactsUpload> = {}) =>
  createEvent('facts.uploaded.v1', makeFactsUpload(overrides), { source: 'proxyhub/ingress/test-1', subject: 'host1.example.com', traceparent: TRACEPARENT, time: TIME });

/** A delivery body carrying `value` as JSON (what a foreign or broken producer might send). */
const bodyOf = (value: unknown) => ({ body: Buffer.from(JSON.stringify(value)) });

/** A facts envelope with some attributes replaced, as plain JSON. */
const makeRawEnvelope = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({ ...makeFactsEvent(), ...overrides });

/** The error `fn` threw, or undefined. */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}

t.test('encode → decode round trip', async (t) => {
  const event = makeFactsEvent();
  const decoded = decodeEvent(encodeEvent(event, 'px.events'));
  t.strictSame(decoded, event);
  t.equal(decoded.type, 'facts.uploaded.v1');
});

t.test('decoding returns the parsed data, not the raw payload', async (t) => {
  const decoded = decodeEvent(bodyOf(makeRawEnvelope({ data: { name: '  host2.example.com  ', facts: {} } })));
  t.equal((decoded.data as FactsUpload).name, 'host2.example.com', 'schema trimming applied');

  const report = createEvent('report.uploaded.v1', { format: 'ansible', report: { host: 'h' }, jsonBody: false }, { source: 's' });
  const withoutDefault = { ...report, data: { format: 'ansible', report: { host: 'h', extra: 1 } } };
  t.match(decodeEvent(bodyOf(withoutDefault)).data, { format: 'ansible', jsonBody: true, report: { host: 'h', extra: 1 } }, 'defaults filled, loose fields kept');
});

t.test('AMQP properties mirror the CloudEvents attributes', async (t) => {
  const event = makeFactsEvent();
  const message = encodeEvent(event, 'px.events');
  t.equal(message.exchange, 'px.events');
  t.equal(message.routingKey, 'facts.uploaded.v1', 'the type is the routing key');
  t.equal(message.messageId, event.id);
  t.equal(message.type, event.type);
  t.equal(message.contentType, 'application/cloudevents+json');
  t.equal(message.contentType, CLOUDEVENTS_CONTENT_TYPE);
  t.equal(message.timestamp, 1714979289, 'epoch seconds of time, rounded down');
  t.strictSame(message.headers, { cloudEvents_source: 'proxyhub/ingress/test-1', cloudEvents_subject: 'host1.example.com', traceparent: TRACEPARENT });
  t.notOk('mandatory' in message, 'mandatory left to the publisher default');
  t.strictSame(JSON.parse(message.body.toString('utf8')), event, 'structured mode: the body is the whole envelope');
});

t.test('encode options: routing key, extra headers, mandatory', async (t) => {
  const bare: Envelope = createEvent('facts.uploaded.v1', makeFactsUpload(), { source: 'src', time: TIME });
  const message = encodeEvent(bare, 'px.outcomes', { routingKey: 'custom.key', headers: { 'x-extra': 1 }, mandatory: false });
  t.equal(message.routingKey, 'custom.key');
  t.equal(message.mandatory, false);
  t.strictSame(message.headers, { cloudEvents_source: 'src', 'x-extra': 1 }, 'no subject or traceparent headers when absent');
});

t.test('decode rejects a body that is not JSON', async (t) => {
  const error = thrown(() => decodeEvent({ body: Buffer.from('{"specversion": "1.0",') }));
  t.ok(isProxyhubError(error), 'a ProxyhubError');
  t.match(error, { name: 'ProxyhubError', code: 'PROXYHUB_EVENT_INVALID', retryable: false, message: /not JSON/ });
  t.type((error as Error).cause, SyntaxError, 'the parse error is kept as cause');
});

t.test('decode rejects a bad envelope', async (t) => {
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ['wrong specversion', { specversion: '0.3' }, 'specversion'],
    ['missing id', { id: undefined }, 'id'],
    ['time without offset', { time: '2024-05-06 07:08:09' }, 'time'],
    ['bad datacontenttype', { datacontenttype: 'text/plain' }, 'datacontenttype'],
    ['bad type syntax', { type: 'FactsUploaded' }, 'type'],
  ];
  for (const [label, overrides, field] of cases) {
    const error = thrown(() => decodeEvent(bodyOf(makeRawEnvelope(overrides))));
    t.ok(isProxyhubError(error), `${label}: a ProxyhubError`);
    t.match(error, { code: 'PROXYHUB_EVENT_INVALID', retryable: false, field }, label);
  }
});

t.test('decode rejects an unknown event type', async (t) => {
  const error = thrown(() => decodeEvent(bodyOf(makeRawEnvelope({ type: 'host.exploded.v1' }))));
  t.ok(isProxyhubError(error), 'a ProxyhubError');
  t.match(error, { code: 'PROXYHUB_EVENT_UNKNOWN_TYPE', retryable: false, message: /host\.exploded\.v1/ });
});

t.test('decode rejects data that fails its contract, naming the field', async (t) => {
  const cases: Array<[string, unknown, string]> = [
    ['empty name', { name: '', facts: {} }, 'data.name'],
    ['blank name', { name: '   ', facts: {} }, 'data.name'],
    ['missing facts', { name: 'h' }, 'data.facts'],
    ['facts not an object', { name: 'h', facts: [] }, 'data.facts'],
  ];
  for (const [label, data, field] of cases) {
    const error = thrown(() => decodeEvent(bodyOf(makeRawEnvelope({ data }))));
    t.ok(isProxyhubError(error), `${label}: a ProxyhubError`);
    t.match(error, { code: 'PROXYHUB_EVENT_INVALID', retryable: false, field, message: new RegExp(`^${field.replace('.', '\\.')}: `) }, label);
  }
});

t.test('decode names `data` itself when the data is not an object at all', async (t) => {
  for (const data of [null, 'facts', undefined]) {
    const error = thrown(() => decodeEvent(bodyOf(makeRawEnvelope({ data }))));
    t.match(error, { code: 'PROXYHUB_EVENT_INVALID', retryable: false }, `data ${String(data)}`);
    t.equal((error as { field?: string } | undefined)?.field, 'data', `data ${String(data)}: field is "data", not "data."`);
  }
});
