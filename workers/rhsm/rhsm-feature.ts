/**
 * The asynchronous half of `worker:rhsm`: delivers the uploads the ingress answered 202 (package
 * profiles, tracer, enabled repositories, facts-only updates) to Katello as the `PUT` the host
 * made, with the feature runtime's retries, dedup and dead-letter queue. Only the newest upload of
 * a consumer and kind is delivered (newest-upload.ts says how and why).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { errorMessage } from '../../contracts/errors.ts';
import { coalesceSlot } from '../../contracts/rhsm/rhsm-routes.ts';
import type { Topology } from '../../contracts/topology.ts';
import { defineFeature, type Feature } from '../runtime/feature.ts';
import { ForemanCallError, isTransientStatus, type ForemanClient } from '../runtime/foreman-client.ts';
import type { KatelloCallSettings } from './katello-calls.ts';
import { uploadCallFor } from './katello-calls.ts';
import { uploadStamp, type NewestUploads } from './newest-upload.ts';

export interface RhsmFeatureSettings {
  readonly topology: Topology;
  /** Katello (PROXYHUB_RHSM_URL, else Foreman), with the proxy's certificate. */
  readonly katello: ForemanClient;
  readonly newest: NewestUploads;
  readonly calls: KatelloCallSettings;
  /** PROXYHUB_RHSM_COALESCE_MS: how long a fresh upload waits for a newer one. */
  readonly coalesceMs: number;
  /** Deadline of one delivery to Katello (profile import and applicability run inline there). */
  readonly timeoutMs: number;
}

export function createRhsmFeature(settings: RhsmFeatureSettings): Feature<'rhsm'> {
  return defineFeature('rhsm', {
    'rhsm.upload.accepted.v1': async (event, context) => {
      const upload = event.data;
      const key = settings.topology.rhsmNewestKey(upload.consumerUuid, coalesceSlot(upload.kind));
      const stamp = uploadStamp(event.time, event.id);
      let newest = stamp;
      try {
        newest = await settings.newest.offer(key, stamp);
        if (newest === stamp) {
          const wait = Date.parse(event.time) + settings.coalesceMs - Date.now();
          if (wait > 0) await sleep(wait);
          // Read again even without a wait: in a backlog the worker's prefetch brings a host's
          // later uploads in the same burst, and their offers land before this read.
          newest = (await settings.newest.newest(key)) ?? stamp;
        }
      } catch (error) {
        // As with the dedup records: without Redis, deliver (at-least-once) rather than hold uploads.
        context.logger.warn({ err: errorMessage(error), eventId: event.id }, 'newest-upload marker unavailable; delivering without coalescing');
      }
      if (newest !== stamp) {
        context.logger.debug({ eventId: event.id, kind: upload.kind, consumer: upload.consumerUuid }, 'upload superseded by a newer one; not delivered');
        return;
      }
      const answer = await settings.katello.forward(uploadCallFor(upload, settings.calls, settings.timeoutMs));
      if (answer.status >= 200 && answer.status < 300) return;
      // 404/410: the consumer is gone; the host learns it at its next synchronous call (§6).
      const excerpt = answer.body.toString('utf8').slice(0, 500);
      throw new ForemanCallError(isTransientStatus(answer.status), `PUT ${upload.kind} for ${upload.consumerUuid} → ${answer.status}: ${excerpt}`, answer.status);
    },
  });
}
