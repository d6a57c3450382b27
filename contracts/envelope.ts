/**
 * The event envelope: CloudEvents 1.0 attribute names, carried whole in the message body
 * (structured mode) so that it survives any transport, plus `traceparent` for W3C tracing.
 * The AMQP properties mirror the attributes (message_id = id, type, timestamp, content_type)
 * as the CloudEvents AMQP binding does, for tools that only look at properties.
 */
import { z } from 'zod';

export const CLOUDEVENTS_CONTENT_TYPE = 'application/cloudevents+json';

export const envelopeSchema = z.object({
  specversion: z.literal('1.0'),
  id: z.string().min(1).max(200),
  source: z.string().min(1).max(500),
  type: z.string().regex(/^[a-z][a-z0-9-]*(\.[a-z0-9-]+)*\.v\d+$/),
  time: z.iso.datetime({ offset: true }),
  subject: z.string().max(500).optional(),
  datacontenttype: z.literal('application/json'),
  /**
   * CloudEvents distributed-tracing extension: the W3C trace context of the hop that produced the
   * event (the ingress request, continued or started there); workers continue it up to Foreman.
   */
  traceparent: z.string().regex(/^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/).optional(),
  /**
   * Extension attribute: CN of the verified client certificate the upload came with (the host
   * identity the smart-proxy uses for OpenSCAP and REX pull). Absent on plain HTTP.
   */
  clientcn: z.string().min(1).max(255).optional(),
  data: z.unknown(),
});

export type Envelope<TType extends string = string, TData = unknown> = Omit<z.infer<typeof envelopeSchema>, 'type' | 'data'> & {
  type: TType;
  data: TData;
};
