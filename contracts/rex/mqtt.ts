/**
 * The cloud-connector "data" message that tells a pull-mqtt host about a job (foreman-contracts.md
 * §2.4), published QoS 1 on `yggdrasil/<host>/data/in`. yggdrasild fetches `content` itself and
 * hands the script to foreman_ygg_worker, which posts updates to `return_url`.
 */
import { z } from 'zod';

export const pullNotificationSchema = z.object({
  type: z.literal('data'),
  message_id: z.string(),
  version: z.literal(1),
  sent: z.string(),
  directive: z.literal('foreman'),
  content: z.string(),
  metadata: z.object({
    event: z.enum(['start', 'cancel']),
    job_uuid: z.string(),
    return_url: z.string(),
    version: z.literal('v1'),
    effective_user: z.string().nullable(),
  }),
});
export type PullNotification = z.infer<typeof pullNotificationSchema>;

export const pullTopic = (host: string): string => `yggdrasil/${host}/data/in`;

export function pullNotification(options: { messageId: string; baseUrl: string; jobUuid: string; event: 'start' | 'cancel'; effectiveUser: string | null; sent: Date }): PullNotification {
  const jobUrl = `${options.baseUrl.replace(/\/+$/, '')}/ssh/jobs/${options.jobUuid}`;
  return {
    type: 'data',
    message_id: options.messageId,
    version: 1,
    sent: options.sent.toISOString(),
    directive: 'foreman',
    content: options.event === 'cancel' ? `${jobUrl}/cancel` : jobUrl,
    metadata: { event: options.event, job_uuid: options.jobUuid, return_url: `${jobUrl}/update`, version: 'v1', effective_user: options.effectiveUser },
  };
}
