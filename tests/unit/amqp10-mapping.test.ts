/**
 * The AMQP 1.0 transport's pure parts: address schemes per broker, the transport choice, the
 * routes the hub resolves itself on RabbitMQ 3.x, and the explicit mapping of delivery headers
 * onto application properties (and back).
 */
import t from 'tap';
import { deliveryHeaders } from '../../contracts/delivery-headers.ts';
import { createTopology } from '../../contracts/topology.ts';
import { addressesFor } from '../../hub/bus/amqp10/addresses.ts';
import { TYPE_PROPERTY, bodyOf, receivedFields, toApplicationProperties, toRheaMessage } from '../../hub/bus/amqp10/message.ts';
import { boundQueues } from '../../hub/bus/amqp10/route-guard.ts';
import { transportKindOf } from '../../hub/bus/transport.ts';
import { configSchema } from '../../hub/config/schema.ts';

const topology = createTopology('ph');

t.test('address schemes', async (t) => {
  const v1 = addressesFor('rabbitmq3');
  t.equal(v1.target('ph.events', 'facts.uploaded.v1'), '/exchange/ph.events/facts.uploaded.v1');
  t.equal(v1.target('', 'ph.facts'), '/amq/queue/ph.facts', 'queues by /amq/queue: /queue/ would declare a transient one');
  t.equal(v1.queue('ph.facts'), '/amq/queue/ph.facts');
  t.equal(v1.replyTo('ph.replies.1'), '/queue/ph.replies.1', 'the plugin shows 0-9-1 peers the bare name');
  t.equal(v1.replyQueue('/queue/ph.replies.1'), 'ph.replies.1');
  t.equal(v1.replyQueue('plain-name'), 'plain-name');
  t.ok(v1.acceptsUnroutable);

  const v2 = addressesFor('rabbitmq4');
  t.equal(v2.target('ph.events', 'a/b c'), '/exchanges/ph.events/a%2Fb%20c', 'v2 addresses percent-encode each segment');
  t.equal(v2.queue('ph.facts'), '/queues/ph.facts');
  t.equal(v2.replyQueue(v2.replyTo('q 1')), 'q 1');
  t.notOk(v2.acceptsUnroutable, 'RabbitMQ 4 releases what no queue takes');

  const plain = addressesFor('plain');
  t.equal(plain.target('ph.events', 'facts.uploaded.v1'), 'ph.events/facts.uploaded.v1');
  t.equal(plain.queue('ph.facts'), 'ph.facts');
  t.notOk(plain.isRabbitMq);
});

t.test('the transport follows the URL scheme, then the setting', async (t) => {
  t.equal(transportKindOf('amqp://h', undefined), 'amqp091');
  t.equal(transportKindOf('amqp://h', 'amqp10'), 'amqp10');
  t.equal(transportKindOf('amqp10://h', undefined), 'amqp10');
  t.equal(transportKindOf('amqp10s://h', undefined), 'amqp10');
  t.equal(configSchema.parse({ amqpUrl: 'amqp10://guest:guest@127.0.0.1:5672' }).amqp10.addressScheme, 'rabbitmq3');
  const refused = configSchema.safeParse({ amqpUrl: 'amqp10://h', transport: 'amqp091' });
  t.notOk(refused.success, 'an amqp10:// URL with the 0-9-1 transport is refused');
  t.notOk(configSchema.safeParse({ transport: 'stomp' }).success);
});

t.test('routes the hub resolves itself where the broker would drop unroutable messages', async (t) => {
  t.same(boundQueues(topology, topology.eventsExchange, 'facts.uploaded.v1'), ['ph.facts']);
  t.same(boundQueues(topology, topology.eventsExchange, 'report.uploaded.v1'), ['ph.reports']);
  t.same(boundQueues(topology, topology.deadLetterExchange, 'ph.facts'), ['ph.facts.dlq']);
  t.same(boundQueues(topology, '', 'ph.facts.retry.200ms'), ['ph.facts.retry.200ms']);
  t.equal(boundQueues(topology, topology.eventsExchange, 'someone.elses.v1'), undefined, 'not ours: sent to the exchange');
  t.equal(boundQueues(topology, topology.outcomesExchange, 'delivery.succeeded.v1'), undefined);
});

t.test('delivery headers become application properties and come back unchanged', async (t) => {
  const headers = {
    [deliveryHeaders.attempt]: 3,
    [deliveryHeaders.errorCode]: 'PROXYHUB_FOREMAN_REJECTED',
    [deliveryHeaders.reason]: 'Foreman said 422',
    [deliveryHeaders.failedAt]: new Date('2026-01-02T03:04:05.000Z'),
    [deliveryHeaders.upstreamStatus]: 422,
    [deliveryHeaders.routingKey]: 'facts.uploaded.v1',
    'x-death': [{ count: 1, reason: 'rejected' }],
    absent: undefined,
  };
  const properties = toApplicationProperties(headers);
  t.same(properties, {
    [deliveryHeaders.attempt]: 3,
    [deliveryHeaders.errorCode]: 'PROXYHUB_FOREMAN_REJECTED',
    [deliveryHeaders.reason]: 'Foreman said 422',
    [deliveryHeaders.failedAt]: '2026-01-02T03:04:05.000Z',
    [deliveryHeaders.upstreamStatus]: 422,
    [deliveryHeaders.routingKey]: 'facts.uploaded.v1',
    'x-death': '[{"count":1,"reason":"rejected"}]',
  });

  const body = Buffer.from('{"specversion":"1.0"}');
  const sent = toRheaMessage({ exchange: '', routingKey: 'ph.facts', body, messageId: 'id-1', type: 'facts.uploaded.v1', contentType: 'application/cloudevents+json', timestamp: 1_700_000_000, headers, correlationId: 'c-1' }, '/queue/ph.replies.1');
  t.equal(sent.application_properties?.[TYPE_PROPERTY], 'facts.uploaded.v1', 'the event type travels as cloudEvents_type');
  t.equal(sent.durable, true);
  t.equal(sent.subject, 'ph.facts');
  t.same(bodyOf(sent), body, 'one data section holding the envelope');

  const received = receivedFields({ ...sent, first_acquirer: false }, addressesFor('rabbitmq3'));
  t.equal(received.type, 'facts.uploaded.v1');
  t.equal(received.headers[deliveryHeaders.attempt], 3);
  t.equal(received.headers[TYPE_PROPERTY], undefined, 'the type is not repeated among the headers');
  t.equal(received.replyTo, 'ph.replies.1');
  t.equal(received.correlationId, 'c-1');
  t.equal(received.messageId, 'id-1');
  t.equal(received.timestamp, 1_700_000_000);
  t.ok(received.redelivered, 'first-acquirer false means redelivered');
  t.same(received.body, body);
});

t.test('bodies in other sections are read as bytes too', async (t) => {
  t.same(bodyOf({ body: 'text' }), Buffer.from('text'));
  t.same(bodyOf({ body: Buffer.from('raw') }), Buffer.from('raw'));
  t.same(bodyOf({ body: { a: 1 } }), Buffer.from('{"a":1}'));
});
