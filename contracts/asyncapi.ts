/**
 * An AsyncAPI 2.6 description of the capability channel, built from the same zod schemas the
 * producers and consumers use, so a consumer in another language (a Foreman plugin in Ruby) can
 * generate its types. docs/capabilities.asyncapi.json is this document, checked by
 * tests/unit/asyncapi-doc.test.ts.
 */
import { z } from 'zod';
import { capabilityAnnouncedV1, capabilityChangedV1, capabilitySyncRequestedV1, capabilityWithdrawnV1 } from './events/capability.ts';
import { envelopeSchema } from './envelope.ts';

const events = [
  [capabilityAnnouncedV1, 'A process says what it provides: on start, then every heartbeat.'],
  [capabilityWithdrawnV1, 'A process stops providing anything (graceful stop).'],
  [capabilityChangedV1, 'A feature went up or down, or changed settings, capabilities, state or instances (published by the control role; one id per change on every replica).'],
  [capabilitySyncRequestedV1, 'A reader\'s own marker in the stream: everything before it is history.'],
] as const;

function messageOf(event: (typeof events)[number][0], summary: string): Record<string, unknown> {
  const payload = envelopeSchema.extend({ type: z.literal(event.type), data: event.data });
  return {
    name: event.type,
    summary,
    contentType: 'application/cloudevents+json',
    payload: z.toJSONSchema(payload, { io: 'output' }),
  };
}

export function capabilityAsyncApi(): Record<string, unknown> {
  const references = { oneOf: events.map(([event]) => ({ $ref: `#/components/messages/${event.type}` })) };
  return {
    asyncapi: '2.6.0',
    info: {
      title: 'proxyhub capability events',
      version: '1',
      description: 'CloudEvents 1.0 in structured mode (the whole envelope is the message body). `{prefix}` is PROXYHUB_PREFIX.',
    },
    channels: {
      '{prefix}.capabilities': {
        description: 'Topic exchange; the routing key is the event type. Bind `capability.changed.v1` for feature changes.',
        parameters: { prefix: { description: 'PROXYHUB_PREFIX', schema: { type: 'string' } } },
        bindings: { amqp: { is: 'routingKey', exchange: { name: '{prefix}.capabilities', type: 'topic', durable: true, autoDelete: false, vhost: '/' }, bindingVersion: '0.2.0' } },
        subscribe: { message: references },
      },
      '{prefix}.capabilities.stream': {
        description: 'RabbitMQ stream bound to the exchange with `capability.#` (1 h, 50 MB). Read with `x-stream-offset` set to a timestamp 12 s back for the current state, then follow; prefetch and manual ack are required.',
        parameters: { prefix: { description: 'PROXYHUB_PREFIX', schema: { type: 'string' } } },
        bindings: { amqp: { is: 'queue', queue: { name: '{prefix}.capabilities.stream', durable: true, exclusive: false, autoDelete: false, vhost: '/' }, bindingVersion: '0.2.0' } },
        subscribe: { message: references },
      },
    },
    components: { messages: Object.fromEntries(events.map(([event, summary]) => [event.type, messageOf(event, summary)])) },
  };
}
