/**
 * The AMQP 0-9-1 queue browser (the interface is in ../transport.ts): taking messages out of a
 * queue one by one without a consumer, for operator tools (dead-letter listing and replay).
 */
import amqplib, { type ChannelModel, type ConfirmChannel } from 'amqplib';
import { connectToAny } from '../broker-urls.ts';
import { toDelivery } from './consumer.ts';
import type { QueueBrowser } from '../transport.ts';

/** A missing queue means nothing of this prefix has run yet: say so instead of a broker code. */
function explain(error: unknown, queue: string): Error {
  const message = error instanceof Error ? error.message : String(error);
  return /NOT_FOUND/.test(message) ? new Error(`queue ${queue} does not exist: no proxyhub process has declared it under this prefix yet`, { cause: error }) : new Error(message, { cause: error });
}

export async function openQueueBrowser(url: string): Promise<QueueBrowser> {
  const connection: ChannelModel = await connectToAny(url, (node) => amqplib.connect(node, { clientProperties: { connection_name: 'proxyhub-dead-letters' } }));
  // The operations' own promises reject; without listeners the 'error' events would crash the
  // process (the control listener serves this too).
  connection.on('error', () => undefined);
  const channel: ConfirmChannel = await connection.createConfirmChannel();
  channel.on('error', () => undefined);
  const returned = new Set<string>();
  channel.on('return', (message) => returned.add(String(message.properties.messageId)));
  return {
    async take(queue) {
      const message = await channel.get(queue, { noAck: false }).catch((error: unknown) => {
        throw explain(error, queue);
      });
      if (message === false) return null;
      return {
        delivery: toDelivery(channel, { ...message, fields: { ...message.fields, consumerTag: '' } }),
        properties: {
          ...(typeof message.properties.timestamp === 'number' ? { timestamp: message.properties.timestamp } : {}),
          ...(typeof message.properties.contentType === 'string' ? { contentType: message.properties.contentType } : {}),
        },
      };
    },
    async messageCount(queue) {
      return (await channel.checkQueue(queue).catch((error: unknown) => {
        throw explain(error, queue);
      })).messageCount;
    },
    publish(message) {
      return new Promise((resolve, reject) => {
        channel.publish(
          message.exchange,
          message.routingKey,
          message.body,
          { persistent: true, mandatory: message.mandatory ?? true, messageId: message.messageId, type: message.type, contentType: message.contentType, headers: { ...message.headers } },
          (error: unknown) => {
            if (error) reject(new Error('broker refused the message'));
            else if (returned.delete(message.messageId)) reject(new Error(`no queue accepted ${message.routingKey}`));
            else resolve();
          },
        );
      });
    },
    async close() {
      await channel.close().catch(() => undefined);
      await connection.close().catch(() => undefined);
    },
  };
}
