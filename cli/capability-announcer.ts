/**
 * Tells the capability exchange what this process provides: an announcement when it starts, the
 * same announcement again every heartbeat, and a withdrawal the moment it stops. A process whose
 * heartbeats stop (killed, cut off) is expired by the control role's registry instead.
 */
import { randomUUID } from 'node:crypto';
import type { FeatureAnnouncement } from '../contracts/capabilities.ts';
import { createEvent } from '../contracts/events/create-event.ts';
import type { CapabilityAnnouncement } from '../contracts/events/capability.ts';
import { errorMessage } from '../contracts/errors.ts';
import { encodeEvent } from '../hub/bus/event-codec.ts';
import type { Logger } from '../hub/log/logger.ts';
import type { Publisher } from '../hub/bus/transport.ts';

export interface AnnouncerOptions {
  readonly publisher: Publisher;
  readonly exchange: string;
  readonly instanceId: string;
  readonly roles: readonly string[];
  readonly version: string;
  readonly hostname: string;
  /** @defaultValue 2000 (config `capabilities.heartbeatMs`) */
  readonly heartbeatMs: number;
  readonly logger: Logger;
}

export interface Announcer {
  /** Publishes the first announcement and starts the heartbeat. */
  start(): Promise<void>;
  /** Adds or replaces what the next announcement says; announces at once when started. */
  update(change: { readonly features?: readonly FeatureAnnouncement[]; readonly urls?: CapabilityAnnouncement['urls'] }): Promise<void>;
  /** Stops the heartbeat and publishes the withdrawal (waits for the broker's confirm). */
  close(): Promise<void>;
}

export function createAnnouncer(options: AnnouncerOptions): Announcer {
  const source = `proxyhub/${options.instanceId}`;
  const startedAt = new Date().toISOString();
  let features: readonly FeatureAnnouncement[] = [];
  let urls: CapabilityAnnouncement['urls'] = {};
  let sequence = 0;
  let timer: NodeJS.Timeout | undefined;
  let state: 'idle' | 'started' | 'closed' = 'idle';

  function publish(envelope: ReturnType<typeof createEvent>): Promise<void> {
    // Not mandatory: with no stream bound (a broker reset under us) a heartbeat is simply lost.
    return options.publisher.publish(encodeEvent(envelope, options.exchange, { mandatory: false }));
  }

  async function announce(): Promise<void> {
    sequence += 1;
    const data: CapabilityAnnouncement = {
      instanceId: options.instanceId,
      roles: [...options.roles],
      version: options.version,
      hostname: options.hostname,
      startedAt,
      sequence,
      heartbeatMs: options.heartbeatMs,
      urls,
      features: [...features],
    };
    await publish(createEvent('capability.announced.v1', data, { source, id: randomUUID(), subject: options.instanceId }));
  }

  function heartbeat(): void {
    announce().catch((error: unknown) => options.logger.warn({ err: errorMessage(error) }, 'capability heartbeat not published; next one follows'));
  }

  return {
    async start() {
      state = 'started';
      // A broker that is down now gets the announcement with the next heartbeat instead.
      await announce().catch((error: unknown) => options.logger.warn({ err: errorMessage(error) }, 'capability announcement not published; retrying with the heartbeat'));
      timer = setInterval(heartbeat, options.heartbeatMs);
      timer.unref();
    },
    async update(change) {
      if (change.features !== undefined) features = change.features;
      if (change.urls !== undefined) urls = change.urls;
      if (state === 'started') await announce().catch((error: unknown) => options.logger.warn({ err: errorMessage(error) }, 'capability update not published; the heartbeat repeats it'));
    },
    async close() {
      if (state !== 'started') return;
      state = 'closed';
      clearInterval(timer);
      sequence += 1;
      const envelope = createEvent('capability.withdrawn.v1', { instanceId: options.instanceId, sequence, reason: 'stopped' }, { source, subject: options.instanceId });
      await publish(envelope).catch((error: unknown) => options.logger.warn({ err: errorMessage(error) }, 'withdrawal not published; the registry expires this instance instead'));
    },
  };
}
