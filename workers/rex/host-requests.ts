/**
 * Answers the ingress's host-facing REX requests (over the broker; the ingress never sees
 * Redis): the pull endpoints of foreman-contracts.md §2.4, each only for the host whose
 * certificate CN the job was launched for (404 otherwise, as the smart-proxy), and the keys of
 * §2.7.
 */
import { readFile } from 'node:fs/promises';
import { errorCatalog, errorMessage } from '../../contracts/errors.ts';
import { hostRequestSchema, legacyUpdateSchema, v1UpdateSchema, type HostReply, type HostRequest } from '../../contracts/rex/host-rpc.ts';
import { pullHostName } from '../../contracts/rex/launch.ts';
import { epochSeconds, type OutputChunk, type RexProgress } from '../../contracts/rex/job.ts';
import type { Logger } from '../../hub/log/logger.ts';
import type { RexJobStore, RexJobView } from '../../hub/jobs/rex-job-store.ts';
import type { Lifecycle } from './job-lifecycle.ts';
import { PULL_RUNNING_FOREVER } from './pull-job.ts';

export interface HostRequestDeps {
  readonly store: RexJobStore;
  readonly lifecycle: Lifecycle;
  readonly publicKey: string;
  readonly caPublicKeyPath: string | undefined;
  readonly logger: Logger;
}

const text = (status: number, body: string, contentType = 'text/plain'): HostReply => ({ status, contentType, body });
const refusal = (problem: NonNullable<HostReply['problem']>, detail: string): HostReply => ({ ...text(errorCatalog[problem.code].status, detail), problem });
// One answer for a job that is not there and one that is another host's: nothing to probe.
const notFound = (): HostReply => refusal({ code: 'PROXYHUB_REX_TASK_NOT_FOUND' }, 'Job not found');
const OPEN_STATES = new Set(['ready_for_pickup', 'notified', 'delivered', 'running', 'queued']);

type Update = { chunks: Array<Omit<OutputChunk, 'timestamp'> & { at: number }>; exit: { code: number; at: number } | undefined };

const parseTime = (value: string | undefined): number => {
  const at = value === undefined ? Number.NaN : Date.parse(value);
  return Number.isNaN(at) ? Date.now() : at;
};

/** v1 (foreman_ygg_worker) and the legacy unversioned body, as one list of chunks and an exit. */
export function parseUpdate(body: unknown): Update | undefined {
  const v1 = v1UpdateSchema.safeParse(body);
  if (v1.success) {
    const update: Update = { chunks: [], exit: undefined };
    for (const item of v1.data.updates) {
      if (item.type === 'output') update.chunks.push({ output_type: item.stream, output: item.content, at: parseTime(item.timestamp) });
      else update.exit = { code: item.exit_code, at: parseTime(item.timestamp) };
    }
    return update;
  }
  const legacy = legacyUpdateSchema.safeParse(body);
  if (!legacy.success || (body as { version?: unknown } | null)?.version !== undefined) return undefined;
  const lines = legacy.data.output === undefined ? [] : Array.isArray(legacy.data.output) ? legacy.data.output : [legacy.data.output];
  const now = Date.now();
  return {
    chunks: lines.map((line) => ({ output_type: legacy.data.type ?? 'stdout', output: line, at: now })),
    exit: legacy.data.exit_code === undefined ? undefined : { code: legacy.data.exit_code, at: now },
  };
}

export function createHostRequestAnswerer(deps: HostRequestDeps): (body: Buffer) => Promise<HostReply> {
  /** The job, if it is open and this host's; anything else is the same 404. */
  async function ownJob(cn: string, uuid: string): Promise<RexJobView | undefined> {
    const job = await deps.store.job(uuid);
    if (!job || pullHostName(job.data.input).toLowerCase() !== cn.toLowerCase()) return undefined;
    if (job.state === 'completed' || job.state === 'failed' || job.progress?.exit) return undefined;
    return job;
  }

  async function moveTo(job: RexJobView, state: 'delivered' | 'running'): Promise<RexProgress> {
    const before = job.progress ?? { state: 'queued' as const };
    const next: RexProgress = { ...before, state: before.state === 'running' ? 'running' : state, startedAt: before.startedAt ?? Date.now() };
    await deps.store.setProgress(job.id, next);
    // Picked up: it now counts against the rate limit until it finishes.
    await deps.store.markPullInFlight(job.id, PULL_RUNNING_FOREVER);
    return next;
  }

  async function answer(request: HostRequest): Promise<HostReply> {
    switch (request.kind) {
      case 'pubkey':
        return text(200, `${deps.publicKey}\n`);
      case 'ca-pubkey':
        return text(200, deps.caPublicKeyPath ? await readFile(deps.caPublicKeyPath, 'utf8') : '');
      case 'list': {
        const ids = await deps.store.hostJobs(request.cn);
        const jobs = await Promise.all(ids.map((id) => deps.store.job(id)));
        const open = jobs.filter((job): job is RexJobView => job !== undefined && OPEN_STATES.has(job.progress?.state ?? 'queued') && !job.progress?.exit && job.state !== 'completed' && job.state !== 'failed');
        return text(200, JSON.stringify(open.map((job) => job.id)), 'application/json');
      }
      case 'fetch': {
        const job = await ownJob(request.cn, request.uuid);
        if (!job) return notFound();
        await moveTo(job, 'delivered');
        const effectiveUser = job.data.input.effective_user;
        return { ...text(200, job.data.input.script.replaceAll('\r', '')), ...(effectiveUser ? { effectiveUser } : {}) };
      }
      case 'update': {
        const job = await ownJob(request.cn, request.uuid);
        if (!job) return notFound();
        const update = parseUpdate(request.body);
        if (!update) return refusal({ code: 'PROXYHUB_INPUT_INVALID', location: 'body', field: 'body' }, 'Unrecognised update body: send {"version":"1","updates":[...]}');
        const progress = await moveTo(job, 'running');
        for (const chunk of update.chunks) await deps.lifecycle.hostChunk(job.data, { output_type: chunk.output_type, output: chunk.output, timestamp: epochSeconds(chunk.at) });
        if (update.exit) {
          await deps.store.setProgress(job.id, { ...progress, exit: { status: update.exit.code, at: update.exit.at } });
          await deps.store.wake(job.id);
        }
        return text(200, '');
      }
      case 'cancel': {
        // Only the target of the MQTT cancel message; the worker on the host does the stopping.
        return (await ownJob(request.cn, request.uuid)) ? text(200, '') : notFound();
      }
      default: {
        const unreachable: never = request;
        return unreachable;
      }
    }
  }

  return async (body) => {
    const parsed = hostRequestSchema.safeParse(JSON.parse(body.toString('utf8')));
    if (!parsed.success) {
      // The ingress fills every field but the job uuid from what it checked itself.
      const onUuid = parsed.error.issues.some((issue) => issue.path[0] === 'uuid');
      return refusal({ code: 'PROXYHUB_INPUT_INVALID', ...(onUuid ? { location: 'params', field: 'uuid' } : {}) }, onUuid ? 'the job uuid is not a valid id' : 'invalid request');
    }
    try {
      return await answer(parsed.data);
    } catch (error) {
      deps.logger.warn({ err: errorMessage(error), kind: parsed.data.kind }, 'rex host request failed');
      return refusal({ code: 'PROXYHUB_REX_STORE_UNAVAILABLE' }, 'Job store unavailable, try again later');
    }
  };
}
