/**
 * The AsyncAPI 3.0 document of everything proxyhub puts on the broker: upload events, REX events,
 * delivery outcomes, capabilities, the work, delay and dead-letter queues of each feature, the
 * RPC request queues with their replies, and the MQTT notification of pull-mode hosts. Channels
 * come from topology.ts (features, bindings, RPC queues) and messages from the registries
 * (messages.ts), so a new feature, binding, queue or event type is described without an edit
 * here. docs/proxyhub.asyncapi.json is this document (scripts/docs.ts writes it; a test checks it
 * and validates it with the AsyncAPI parser).
 */
import { jsonSchemaOf } from '../json-schema.ts';
import { deadLetterHeadersSchema, retryHeadersSchema } from '../delivery-headers.ts';
import { CAPABILITY_BINDING, featureBindings, queueFeatures, rpcQueueNames, RPC_REQUEST_TTL_MS, type QueueFeature } from '../topology.ts';
import { eventMessages, pullNotificationMessage, rpcSpecs, type MessageSpec } from './messages.ts';

type Json = Record<string, unknown>;

const BINDING_VERSION = '0.3.0';
const broker = [{ $ref: '#/servers/broker' }];
const prefixParameter = { prefix: { $ref: '#/components/parameters/prefix' } };
const ref = (path: string): Json => ({ $ref: path });
const pointer = (key: string): string => key.replaceAll('~', '~0').replaceAll('/', '~1');

/** Where an event type is published: capability events and delivery outcomes have their own exchanges. */
function exchangeOf(type: string): 'capabilities' | 'outcomes' | 'events' {
  if (type.startsWith(CAPABILITY_BINDING.replace('#', ''))) return 'capabilities';
  if (type.startsWith('delivery.')) return 'outcomes';
  return 'events';
}

function message(spec: MessageSpec, extra: Json = {}): Json {
  return {
    name: spec.type,
    title: spec.type,
    summary: spec.summary,
    contentType: spec.contentType,
    payload: jsonSchemaOf(spec.schema, { io: 'output', target: 'draft-7' }),
    bindings: { amqp: { messageType: spec.type, bindingVersion: BINDING_VERSION } },
    ...extra,
  };
}

const deadLetterId = (type: string): string => `dead-letter.${type}`;

function exchange(name: string, type: 'topic' | 'direct'): Json {
  return { amqp: { is: 'routingKey', exchange: { name, type, durable: true, autoDelete: false, vhost: '/' }, bindingVersion: BINDING_VERSION } };
}

function queue(name: string, durable = true): Json {
  return { amqp: { is: 'queue', queue: { name, durable, exclusive: false, autoDelete: false, vhost: '/' }, bindingVersion: BINDING_VERSION } };
}

function channel(address: string | null, messageIds: readonly string[], description: string, bindings?: Json, parameters: Json = prefixParameter): Json {
  return {
    address,
    description,
    messages: Object.fromEntries(messageIds.map((id) => [id, ref(`#/components/messages/${pointer(id)}`)])),
    ...(address === null || !address.includes('{') ? {} : { parameters }),
    ...(address?.startsWith('yggdrasil/') ? { servers: [{ $ref: '#/servers/mqtt' }] } : { servers: broker }),
    ...(bindings === undefined ? {} : { bindings }),
  };
}

function operation(action: 'send' | 'receive', channelId: string, messageIds: readonly string[], summary: string, extra: Json = {}): Json {
  return {
    action,
    channel: ref(`#/channels/${pointer(channelId)}`),
    summary,
    messages: messageIds.map((id) => ref(`#/channels/${pointer(channelId)}/messages/${pointer(id)}`)),
    ...extra,
  };
}

function featureParts(feature: QueueFeature, channels: Json, operations: Json): void {
  const types = featureBindings[feature];
  channels[`work.${feature}`] = channel(`{prefix}.${feature}`, types, `Quorum work queue of worker:${feature}, bound to the events exchange by ${types.map((t) => `\`${t}\``).join(', ')}. A delivery is acked once Foreman answered 2xx or the event is dead-lettered.`, queue(`{prefix}.${feature}`));
  channels[`retry.${feature}`] = channel(`{prefix}.${feature}.retry.{delayMs}ms`, types, `A delay tier of ${feature}: messages wait delayMs (PROXYHUB_RETRY_DELAYS_MS), then expire back into the work queue, with the attempt and original routing key in their headers (${Object.keys(retryHeadersSchema.shape).join(', ')}).`, queue(`{prefix}.${feature}.retry.{delayMs}ms`), { ...prefixParameter, delayMs: ref('#/components/parameters/delayMs') });
  channels[`dead-letters.${feature}`] = channel(`{prefix}.${feature}.dlq`, types.map(deadLetterId), `Dead letters of ${feature}, with the reason in their headers; \`proxyhub dlq\` and the control API list and replay them.`, queue(`{prefix}.${feature}.dlq`));
  operations[`receive.${feature}`] = operation('receive', `work.${feature}`, types, `worker:${feature} consumes its work queue and delivers to Foreman.`, { bindings: { amqp: { ack: true, bindingVersion: BINDING_VERSION } } });
  operations[`receive.dead-letters.${feature}`] = operation('receive', `dead-letters.${feature}`, types.map(deadLetterId), `Operators browse and replay ${feature} dead letters (proxyhub dlq, /dead-letters).`);
}

function rpcParts(channels: Json, operations: Json, messages: Json): void {
  for (const name of rpcQueueNames) {
    const spec = rpcSpecs[name];
    const requestIds = spec === undefined ? [] : [spec.request.type];
    const replyIds = spec === undefined ? [] : [spec.reply.type];
    if (spec !== undefined) {
      messages[spec.request.type] = message(spec.request, { correlationId: { location: '$message.header#/correlation_id' } });
      messages[spec.reply.type] = message(spec.reply, { correlationId: { location: '$message.header#/correlation_id' } });
    }
    const summary = spec?.summary ?? `Requests of the ${name} queue (not described yet in contracts/asyncapi/messages.ts).`;
    channels[`rpc.${name}`] = channel(`{prefix}.${name}.requests`, requestIds, `${summary} Classic queue bound to the direct exchange \`{prefix}.rpc\` by its own name; requests expire after ${RPC_REQUEST_TTL_MS / 1000} s.`, queue(`{prefix}.${name}.requests`));
    channels[`rpc.${name}.reply`] = channel(null, replyIds, 'Replies go to the requester’s reply_to: RabbitMQ’s direct reply-to on AMQP 0-9-1, `{prefix}.replies.<client>` on AMQP 1.0.');
    operations[`reply.${name}`] = operation('receive', `rpc.${name}`, requestIds, `The worker answers each request on its reply_to, with the request’s correlation_id.`, {
      reply: { address: { location: '$message.header#/reply_to' }, channel: ref(`#/channels/${pointer(`rpc.${name}.reply`)}`), messages: replyIds.map((id) => ref(`#/channels/${pointer(`rpc.${name}.reply`)}/messages/${pointer(id)}`)) },
    });
  }
}

export function buildAsyncApi(version: string): Json {
  const messages: Json = {};
  for (const spec of eventMessages) messages[spec.type] = message(spec);
  for (const types of Object.values(featureBindings)) {
    for (const type of types) {
      const spec = eventMessages.find((event) => event.type === type);
      if (spec) messages[deadLetterId(type)] = { ...message(spec), name: deadLetterId(type), headers: jsonSchemaOf(deadLetterHeadersSchema, { io: 'output', target: 'draft-7' }) };
    }
  }
  const { bindings: _amqpOnly, ...pullMessage } = message(pullNotificationMessage);
  messages[pullNotificationMessage.type] = pullMessage;
  const typesOn = (exchangeName: string): string[] => eventMessages.filter((spec) => exchangeOf(spec.type) === exchangeName).map((spec) => spec.type);

  const channels: Json = {
    events: channel('{prefix}.events', typesOn('events'), 'Topic exchange of upload and REX events; the routing key is the event type. Uploads are published with mandatory and answered 202 only after the broker confirmed them.', exchange('{prefix}.events', 'topic')),
    outcomes: channel('{prefix}.outcomes', typesOn('outcomes'), 'Topic exchange of delivery outcomes (informational: published without mandatory; nobody has to listen).', exchange('{prefix}.outcomes', 'topic')),
    capabilities: channel('{prefix}.capabilities', typesOn('capabilities'), 'Topic exchange of capability events; bind `capability.changed.v1` for feature changes.', exchange('{prefix}.capabilities', 'topic')),
    'capabilities.stream': channel('{prefix}.capabilities.stream', typesOn('capabilities'), `RabbitMQ stream bound to the capabilities exchange with \`${CAPABILITY_BINDING}\` (1 h, 50 MB). Read with \`x-stream-offset\` a few heartbeats back for the current state, then follow; prefetch and manual ack are required.`, queue('{prefix}.capabilities.stream')),
    'rex.pull': channel('yggdrasil/{host}/data/in', [pullNotificationMessage.type], 'MQTT topic of one pull-mqtt host (its certificate CN), published QoS 1 by the rex worker.', undefined, { host: ref('#/components/parameters/host') }),
  };
  const operations: Json = {
    'send.events': operation('send', 'events', typesOn('events'), 'The ingress publishes uploads; the rex worker publishes job output and results.'),
    'send.outcomes': operation('send', 'outcomes', typesOn('outcomes'), 'Workers say what happened to each event.'),
    'send.capabilities': operation('send', 'capabilities', typesOn('capabilities'), 'Every process announces and withdraws its features; the control role publishes the changes.'),
    'receive.capabilities': operation('receive', 'capabilities.stream', typesOn('capabilities'), 'The control role (and `proxyhub capabilities`) replays and follows the stream.'),
    'send.rex.pull': operation('send', 'rex.pull', [pullNotificationMessage.type], 'The rex worker tells a pull-mode host about its job.', { bindings: { mqtt: { qos: 1, bindingVersion: '0.2.0' } } }),
  };
  for (const feature of queueFeatures) featureParts(feature, channels, operations);
  rpcParts(channels, operations, messages);

  return {
    asyncapi: '3.0.0',
    info: {
      title: 'proxyhub events',
      version,
      description: 'Everything proxyhub sends over its broker. Events are CloudEvents 1.0 in structured mode (the whole envelope is the message body; the AMQP properties message_id, type, timestamp and content_type mirror it). RPC messages are plain JSON with the AMQP type property set. `{prefix}` is PROXYHUB_PREFIX; on AMQP 1.0 the same nodes are reached through the addresses README.md lists.',
    },
    defaultContentType: 'application/json',
    servers: {
      broker: { host: '127.0.0.1:5672', protocol: 'amqp', protocolVersion: '0.9.1', description: 'RabbitMQ (PROXYHUB_AMQP_URL); AMQP 1.0 brokers are reached with an amqp10:// URL.' },
      mqtt: { host: '127.0.0.1:1883', protocol: 'mqtt', description: 'The broker pull-mqtt hosts listen on (PROXYHUB_MQTT_URL).' },
    },
    channels,
    operations,
    components: {
      messages: Object.fromEntries(Object.entries(messages).sort(([a], [b]) => a.localeCompare(b))),
      parameters: {
        prefix: { description: 'PROXYHUB_PREFIX: the namespace of every exchange and queue.', default: 'proxyhub' },
        delayMs: { description: 'A delay tier in milliseconds (PROXYHUB_RETRY_DELAYS_MS).' },
        host: { description: 'The host’s name as its certificate CN says it (consumer UUID, FQDN or hostname).' },
      },
    },
  };
}
