/**
 * The messages of the AsyncAPI document and the per-message JSON Schemas of docs/schemas/, from
 * the registries themselves: every event type of contracts/events/registry.ts (a CloudEvents
 * envelope whose `data` is the type's schema) and every request/reply pair on the RPC queues. A
 * type added to a registry appears here without an edit; a summary below only adds words.
 */
import { z } from 'zod';
import { CLOUDEVENTS_CONTENT_TYPE, envelopeSchema } from '../envelope.ts';
import { eventRegistry, type EventType } from '../events/registry.ts';
import { FOREMAN_REPLY_TYPE, FOREMAN_REQUEST_TYPE, foremanReplySchema, foremanRequestSchema } from '../rpc/foreman-request.ts';
import { POLICY_FILE_REQUEST_TYPE, policyFileRequestSchema } from '../rpc/policy-file.ts';
import { HOST_REPLY_TYPE, HOST_REQUEST_TYPE, hostReplySchema, hostRequestSchema } from '../rex/host-rpc.ts';
import { REGISTRY_REPLY_TYPE, REGISTRY_REQUEST_TYPE, registryReplySchema, registryRequestSchema } from '../container-gateway/registry-rpc.ts';
import { pullNotificationSchema } from '../rex/mqtt.ts';
import { RHSM_REPLY_TYPE, RHSM_REQUEST_TYPE, rhsmReplySchema, rhsmRequestSchema } from '../rhsm/rhsm-rpc.ts';
import type { RpcQueueName } from '../topology.ts';

const eventSummaries: Partial<Record<EventType, string>> = {
  'facts.uploaded.v1': 'A host’s facts, as uploaded to the ingress (Foreman’s facts payload).',
  'report.uploaded.v1': 'A Puppet or Ansible config report, as uploaded to the ingress.',
  'openscap.arf.uploaded.v1': 'An OpenSCAP ARF report: the bzip2 bytes as uploaded (base64), with the host CN and policy.',
  'delivery.succeeded.v1': 'A worker delivered an event to Foreman (or found it delivered already).',
  'delivery.retried.v1': 'A delivery failed transiently; the event waits in a delay tier.',
  'delivery.dead-lettered.v1': 'A delivery failed for good; the event is in the feature’s dead-letter queue.',
  'capability.announced.v1': 'A process says what it provides: on start, then every heartbeat.',
  'capability.withdrawn.v1': 'A process stops providing anything (graceful stop).',
  'capability.changed.v1': 'A feature went up or down, or changed settings, capabilities, state or instances (published by the control role; one id per change on every replica).',
  'capability.sync-requested.v1': 'A reader’s own marker in the stream: everything before it is history.',
  'rex.job.output.v1': 'A chunk of a REX job’s output, as the host produced it (informational).',
  'rex.job.finished.v1': 'A REX job ended, with its exit status.',
};

export interface MessageSpec {
  /** The AMQP `type` property (and, for events, the routing key). */
  readonly type: string;
  readonly summary: string;
  readonly contentType: string;
  readonly schema: z.ZodType;
}

export const eventMessages: readonly MessageSpec[] = (Object.keys(eventRegistry) as EventType[]).map((type) => ({
  type,
  summary: eventSummaries[type] ?? `The ${type} event.`,
  contentType: CLOUDEVENTS_CONTENT_TYPE,
  schema: envelopeSchema.extend({ type: z.literal(type), data: eventRegistry[type] }),
}));

export interface RpcSpec {
  readonly summary: string;
  readonly request: MessageSpec;
  readonly reply: MessageSpec;
}

const rpcMessage = (type: string, summary: string, schema: z.ZodType): MessageSpec => ({ type, summary, contentType: 'application/json', schema });

/** The request and reply on each RPC queue. A queue named in topology.ts but not here is still listed, undescribed. */
export const rpcSpecs: Partial<Record<RpcQueueName, RpcSpec>> = {
  registration: {
    summary: 'Registration, templates and cloud-init userdata: the ingress describes the HTTP call, the registration worker makes it to Foreman.',
    request: rpcMessage(FOREMAN_REQUEST_TYPE, 'An HTTP call for the registration worker to make to Foreman.', foremanRequestSchema),
    reply: rpcMessage(FOREMAN_REPLY_TYPE, 'Foreman’s answer (status, media type, base64 body), or why Foreman could not be asked.', foremanReplySchema),
  },
  openscap: {
    summary: 'SCAP content and tailoring files foreman_scap_client fetches, asked of the openscap worker.',
    request: rpcMessage(POLICY_FILE_REQUEST_TYPE, 'Which policy file to fetch from Foreman.', policyFileRequestSchema),
    reply: rpcMessage(FOREMAN_REPLY_TYPE, 'Foreman’s answer (status, media type, base64 body), or why Foreman could not be asked.', foremanReplySchema),
  },
  rex: {
    summary: 'The host-facing REX routes (pull-mode jobs, public keys), answered by the rex worker.',
    request: rpcMessage(HOST_REQUEST_TYPE, 'A pull-mode host request (scoped to its certificate CN) or a public key request.', hostRequestSchema),
    reply: rpcMessage(HOST_REPLY_TYPE, 'The HTTP answer for the host.', hostReplySchema),
  },
  container_gateway: {
    summary: 'Container registry requests of the ingress, answered by worker:container_gateway.',
    request: rpcMessage(REGISTRY_REQUEST_TYPE, 'One registry request and who asks (a token only as its SHA-256).', registryRequestSchema),
    reply: rpcMessage(REGISTRY_REPLY_TYPE, 'The registry answer (status, headers, small base64 body), or why it could not be made.', registryReplySchema),
  },
  rhsm: {
    summary: 'subscription-manager calls under /rhsm, answered by worker:rhsm with the proxy’s certificate and the host’s verified one in X-RHSM-SSL-CLIENT-CERT.',
    request: rpcMessage(RHSM_REQUEST_TYPE, 'One /rhsm call: method, path, allowed headers, base64 body, and the host’s verified certificate (PEM) when it presented one.', rhsmRequestSchema),
    reply: rpcMessage(RHSM_REPLY_TYPE, 'Katello’s answer passed back unchanged (status, the headers that matter, base64 body), or why Katello could not be asked.', rhsmReplySchema),
  },
};

export const pullNotificationMessage: MessageSpec = {
  type: 'yggdrasil.data',
  summary: 'Tells a pull-mqtt host that a REX job waits for it (start) or was cancelled; yggdrasild fetches `content` from the ingress.',
  contentType: 'application/json',
  schema: pullNotificationSchema,
};

/** Every message with its own JSON Schema file (docs/schemas/<type>.json), each type once. */
export function allMessages(): MessageSpec[] {
  const rpc = Object.values(rpcSpecs).flatMap((spec) => [spec.request, spec.reply]);
  const unique = new Map([...eventMessages, ...rpc, pullNotificationMessage].map((message) => [message.type, message]));
  return [...unique.values()].sort((a, b) => a.type.localeCompare(b.type));
}
