/**
 * Pull-mode notifications over ONE persistent MQTT connection (the smart-proxy opens a new one
 * per publish, which is what melts a broker at scale). QoS 1: the broker acknowledges every
 * notification; mqtt.js reconnects on its own and resends unacknowledged QoS 1 packets. Over
 * `mqtts://` the worker presents a client certificate, as the smart-proxy presents its own, so
 * that the broker can require certificates and limit each client to its topics.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { pullNotification, pullTopic } from '../../contracts/rex/mqtt.ts';
import type { Logger } from '../../hub/log/logger.ts';

export interface PullNotifier {
  start(): Promise<void>;
  notify(options: { host: string; baseUrl: string; jobUuid: string; event: 'start' | 'cancel'; effectiveUser: string | null }): Promise<void>;
  close(): Promise<void>;
}

/** Files of the client certificate for an `mqtts://` (or `wss://`) broker; unused on a plain one. */
export interface MqttTlsFiles {
  readonly cert?: string | undefined;
  readonly key?: string | undefined;
  readonly ca?: string | undefined;
}

async function tlsOptions(url: string, files: MqttTlsFiles): Promise<IClientOptions> {
  if (!/^(?:mqtts|wss):/i.test(url)) return {};
  const read = (path: string | undefined): Promise<Buffer | undefined> => (path === undefined ? Promise.resolve(undefined) : readFile(path));
  const [cert, key, ca] = await Promise.all([read(files.cert), read(files.key), read(files.ca)]);
  return { rejectUnauthorized: true, ...(cert === undefined ? {} : { cert }), ...(key === undefined ? {} : { key }), ...(ca === undefined ? {} : { ca }) };
}

export function createMqttNotifier(options: { readonly url: string; readonly tls?: MqttTlsFiles; readonly clientId: string; readonly logger: Logger }): PullNotifier {
  let client: MqttClient | undefined;
  return {
    async start() {
      const tls = await tlsOptions(options.url, options.tls ?? {});
      // Held before it connects, so that close() ends it even while a first connection is retried.
      const connecting = mqtt.connect(options.url, { clientId: options.clientId, clean: true, reconnectPeriod: 1000, connectTimeout: 10_000, ...tls });
      client = connecting;
      // As mqtt.connectAsync: the first error or an end before connecting fails the start.
      await new Promise<void>((resolve, reject) => {
        const settle = (error?: Error): void => {
          connecting.off('connect', onConnect).off('error', onError).off('end', onEnd);
          if (error === undefined) return resolve();
          connecting.end(true);
          reject(error);
        };
        const onConnect = (): void => settle();
        const onError = (error: Error): void => settle(error);
        const onEnd = (): void => settle(new Error('mqtt notifier closed before it connected'));
        connecting.on('connect', onConnect).on('error', onError).on('end', onEnd);
      });
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
