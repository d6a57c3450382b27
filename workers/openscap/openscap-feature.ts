/**
 * OpenSCAP reports: each upload is decompressed and parsed as a stream into the JSON Foreman's
 * `/api/v2/compliance/arf_reports/:cname/:policy_id/:date` takes, posted, and — once Foreman has
 * answered with the report's id — kept in the ARF store for Foreman's download and delete calls.
 *
 * Unlike the smart-proxy, which parses inside the client's request and leaves failures to a
 * 30-minute cron: a report that cannot be parsed or that Foreman refuses (422) is dead-lettered
 * with the reason (never deleted silently), and Foreman being down only delays delivery.
 */
import { createHash } from 'node:crypto';
import { errorMessage } from '../../contracts/errors.ts';
import type { ArfUpload } from '../../contracts/events/arf-uploaded.ts';
import type { ArfStore } from '../../hub/storage/arf-store.ts';
import { defineFeature, type Feature } from '../runtime/feature.ts';
import { isForemanCallError } from '../runtime/foreman-client.ts';
import { createArfParser, type ArfParser } from './arf-parse-pool.ts';

export const foremanArfPath = (upload: Pick<ArfUpload, 'cname' | 'policyId' | 'reportedAt'>): string =>
  `/api/v2/compliance/arf_reports/${encodeURIComponent(upload.cname)}/${upload.policyId}/${upload.reportedAt}`;

/**
 * Each delivery holds a whole upload (up to 85 MB as base64) and parsing is CPU-bound: a few at a
 * time keep the parse threads busy while Foreman answers, without holding dozens. It also bounds
 * what one worker queues for its parse pool: at most this many parses wait or run at once.
 */
export const OPENSCAP_MAX_PREFETCH = 4;

export interface OpenscapSettings {
  readonly store: ArfStore;
  /** The smart-proxy's registered_proxy_url; Foreman finds the proxy by it (null: by the host). */
  readonly proxyUrl: string | null;
  /** Largest report JSON built for Foreman. @defaultValue MAX_ARF_REPORT_BYTES (64 MiB) */
  readonly maxReportBytes?: number;
  /** Where the parse runs (a thread pool). @defaultValue inline, on the worker's thread */
  readonly parser?: Pick<ArfParser, 'parse'>;
}

/** Foreman answers `{"result":"ok","id":"<arf_report_id>"}`; the id names the stored copy. */
function reportIdOf(body: string): string | undefined {
  try {
    const id = (JSON.parse(body) as { id?: unknown }).id;
    return typeof id === 'number' || (typeof id === 'string' && /^\d+$/.test(id)) ? String(id) : undefined;
  } catch {
    return undefined;
  }
}

export function createOpenscapFeature(settings: OpenscapSettings): Feature<'openscap'> {
  const parser = settings.parser ?? createArfParser({ threads: 0, queueLimit: 0 });
  return defineFeature('openscap', {
    'openscap.arf.uploaded.v1': async (event, context) => {
      const upload = event.data;
      const bytes = Buffer.from(upload.arf, 'base64');
      const jobContext = { proxyName: context.proxyName, proxyUrl: settings.proxyUrl, maxReportBytes: settings.maxReportBytes };
      // The JSON text, built where the parse ran: a report object would cost a structured clone
      // back from the thread and a JSON.stringify here, both on the worker's loop.
      const report = await parser.parse(bytes, jobContext);
      const digest = createHash('sha256').update(bytes).digest('hex');
      // Stored before Foreman hears of it: once Foreman has the report it may ask for the file.
      await settings.store.putBlob(digest, bytes);
      let answer;
      try {
        answer = await context.foreman.post(foremanArfPath(upload), report);
      } catch (error) {
        if (isForemanCallError(error) && !error.retryable) await settings.store.dropBlobIfUnreferenced(digest).catch(() => undefined);
        throw error;
      }
      const id = reportIdOf(answer.body);
      if (id === undefined) {
        context.logger.warn({ eventId: event.id, cname: upload.cname }, 'Foreman accepted the ARF report without an id; it cannot be downloaded from proxyhub');
        return;
      }
      // Foreman has the report: a failure here must not post it a second time.
      await settings.store.link({ cname: upload.cname, id, date: String(upload.reportedAt), digest }).catch((error: unknown) => {
        context.logger.error({ eventId: event.id, err: errorMessage(error) }, 'ARF report delivered but not recorded in the store; Foreman cannot download it');
      });
    },
  }, { maxPrefetch: OPENSCAP_MAX_PREFETCH });
}
