/**
 * Answers the ingress's requests for SCAP content and tailoring files: from a disk cache in the
 * data directory (the smart-proxy's layout, `<kind>/<policy_id>/<policy_id>_<digest>.xml`), or
 * from Foreman's `/api/v2/compliance/policies/:id/content|tailoring` with this worker's
 * certificate. A file is named by its digest (its sha256, lower-cased), so a cached copy never
 * goes stale; one that does not match the digest asked for is passed on uncached. The disk copy
 * is bounded by bytes, least recently used out first.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { DiskLruCache } from '../../hub/storage/disk-lru-cache.ts';
import { errorCodeOf, errorMessage } from '../../contracts/errors.ts';
import type { ForemanReply } from '../../contracts/rpc/foreman-request.ts';
import { policyFileRequestSchema, type PolicyFileRequest } from '../../contracts/rpc/policy-file.ts';
import type { Logger } from '../../hub/log/logger.ts';
import type { ForemanClient } from '../runtime/foreman-client.ts';

export interface PolicyFileSettings {
  readonly foreman: ForemanClient;
  readonly dataDir: string;
  readonly foremanTimeoutMs: number;
  readonly logger: Logger;
  /** Bytes of policy files kept on disk, least recently used out first. @defaultValue POLICY_FILE_DISK_CACHE_BYTES (512 MiB) */
  readonly diskCacheBytes?: number;
}

/** A data stream of a whole OS benchmark is 10–30 MB: room for a few dozen policies' files. */
export const POLICY_FILE_DISK_CACHE_BYTES = 512 * 1024 * 1024;

/** The reply must reach the ingress before its own deadline. */
const REPLY_MARGIN_MS = 500;
const XML = 'application/xml';

/** Every part is checked by the request schema (the digest lower-cased), so one file has one name. */
const cacheKey = (request: PolicyFileRequest): string => `${request.kind}/${request.policyId}/${request.policyId}_${request.digest}.xml`;

const fileReply = (file: Buffer): ForemanReply => ({ status: 200, contentType: XML, body: file.toString('base64') });

/** Best effort: a cache that cannot be written costs a Foreman call next time, nothing more. */
async function remember(cache: DiskLruCache, key: string, file: Buffer, logger: Logger): Promise<void> {
  try {
    await cache.write(key, file);
  } catch (error) {
    logger.warn({ err: errorMessage(error), key }, 'policy file not cached');
  }
}

export function createPolicyFileAnswerer(settings: PolicyFileSettings): (body: Buffer) => Promise<ForemanReply> {
  const cache = new DiskLruCache(join(settings.dataDir, 'openscap'), settings.diskCacheBytes ?? POLICY_FILE_DISK_CACHE_BYTES);
  return async (body) => {
    let request: PolicyFileRequest;
    try {
      request = policyFileRequestSchema.parse(JSON.parse(body.toString('utf8')));
    } catch (error) {
      return { error: 'PROXYHUB_EVENT_INVALID', detail: errorMessage(error).slice(0, 500) };
    }
    const key = cacheKey(request);
    const hit = await cache.read(key).catch(() => undefined);
    if (hit !== undefined) return fileReply(hit);
    const remaining = request.deadline - Date.now() - REPLY_MARGIN_MS;
    if (remaining < 200) return { error: 'PROXYHUB_RPC_TIMEOUT', detail: 'picked up too late to answer in time' };
    try {
      const answer = await settings.foreman.forward({
        method: 'GET',
        path: `/api/v2/compliance/policies/${request.policyId}/${request.kind}`,
        query: [],
        headers: { accept: 'application/xml,application/json,version=2' },
        timeoutMs: Math.min(settings.foremanTimeoutMs, remaining),
      });
      if (answer.status !== 200) {
        return { status: answer.status, ...(answer.contentType ? { contentType: answer.contentType } : {}), body: answer.body.toString('base64') };
      }
      // Kept only under its true name (Foreman's digests are sha256), or a made-up digest would
      // pin today's file on disk under tomorrow's name.
      if (createHash('sha256').update(answer.body).digest('hex') === request.digest) await remember(cache, key, answer.body, settings.logger);
      else settings.logger.info({ policyId: request.policyId, kind: request.kind, digest: request.digest }, 'policy file does not match the digest asked for; passed on, not cached');
      return fileReply(answer.body);
    } catch (error) {
      settings.logger.warn({ err: errorMessage(error), policyId: request.policyId, kind: request.kind }, 'Foreman could not be asked for a policy file');
      return { error: errorCodeOf(error), detail: 'Foreman could not be reached' };
    }
  };
}
