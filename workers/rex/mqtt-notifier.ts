/**
 * Pull-mode notifications over ONE persistent MQTT connection (the smart-proxy opens a new one
 * per publish, which is what melts a broker at scale). QoS 1: the broker acknowledges every
 * notification; mqtt.js reconnects on its own and resends unacknowledged QoS 1 packets.
 */
import { randomUUID } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import { pullNotification, pullTopic } from '../../contracts/rex/mqtt.ts';
import type { Logger } from '../../hub/log/logger.ts';

export interface PullNotifier {
  start(): Promise<void>;
  notify(options: { host: string; baseUrl: string; jobUuid: string; event: 'start' | 'cancel'; effectiveUser: string | null }): Promise<void>;
  close(): Promise<void>;
}

export function createMqttNotifier(options: { readonly url: string; readonly clientId: string; readonly logger: Logger }): PullNotifier {
  let client: MqttClient | undefined;
  return {
    async start() {
      client = await mqtt.connectAsync(options.url, { clientId: options.clientId, clean: true, reconnectPeriod: 1000, connectTimeout: 10_000 });
      client.on('error', (error) => options.logger.warn({ err: error.message }, 'mqtt error'));
      client.on('offline', () => options.logger.warn('mqtt broker unreachable; reconnecting'));
    },
    async notify(request) {
      if (!client) throw new Error('mqtt notifier not started');
      const message = pullNotification({ ...request, messageId: randomUUID(), sent: new Date() });
      await client.publishAsync(pullTopic(request.host), JSON.stringify(message), { qos: 1, retain: false });
    },
    async close() {
      await client?.endAsync().catch(() => undefined);
    },
  };
}
