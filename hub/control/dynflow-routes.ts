/**
 * smart_proxy_dynflow's task API for Foreman's remote execution (foreman-contracts.md §2.3), on
 * the control listener, trusted_hosts + certificate like every dynflow route. A launch becomes a
 * BullMQ flow and is answered before any host runs; state is read back from Redis, so these
 * answers survive a restart of this process and of the workers.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { ProxyhubError, type ErrorCode } from '../../contracts/errors.ts';
import { launchRequestSchema, planIdSchema, rexOperations, taskIdsSchema } from '../../contracts/rex/launch.ts';
import type { RexJobData } from '../../contracts/rex/job.ts';
import type { RexTaskStore } from '../jobs/rex-job-store.ts';
import { sendProblem } from '../http/problem.ts';
import { batchPlan, jobPlan, planState } from './dynflow-status.ts';

export interface DynflowRouteOptions {
  readonly store: RexTaskStore;
  /** Largest launch body (a batch of up to 100 rendered scripts). */
  readonly bodyLimit: number;
}

const protectedRoute = { identity: 'required', trustedHosts: true } as const;
const RUN_SCRIPT = 'Proxy::RemoteExecution::Ssh::Actions::RunScript';

function invalid(issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>): ProxyhubError {
  const first = issues[0];
  const field = first ? first.path.map(String).join('.') || 'body' : 'body';
  return new ProxyhubError('PROXYHUB_INPUT_INVALID', `body ${field}: ${first?.message ?? 'invalid'}`, { field });
}

/**
 * smart_proxy_dynflow answers its errors as `{"error": "..."}` and Foreman shows that text (an
 * unknown operation); the catalog problem carries it as an extension member beside the code.
 */
function dynflowError(reply: FastifyReply, code: ErrorCode, message: string): FastifyReply {
  return sendProblem(reply, code, message, undefined, { error: message });
}

function idParam(value: string): string {
  const id = planIdSchema.safeParse(value);
  if (!id.success) throw new ProxyhubError('PROXYHUB_INPUT_INVALID', 'task id must be an execution-plan uuid', { field: 'id', location: 'params' });
  return id.data;
}

export const dynflowRoutes: FastifyPluginAsync<DynflowRouteOptions> = async (app, options) => {
  const { store } = options;

  async function planOf(id: string): Promise<Record<string, unknown> | undefined> {
    const job = await store.job(id);
    if (job) return jobPlan(job, await store.output(id));
    const batch = await store.batch(id);
    return batch ? batchPlan(batch) : undefined;
  }

  app.post('/dynflow/tasks/launch', { config: protectedRoute, bodyLimit: options.bodyLimit }, async (request, reply: FastifyReply) => {
    const operation = (request.body as { operation?: unknown } | null)?.operation;
    if (typeof operation === 'string' && !(rexOperations as readonly string[]).includes(operation)) {
      return dynflowError(reply, 'PROXYHUB_REX_UNKNOWN_OPERATION', `Unknown operation '${operation}' requested.`);
    }
    const parsed = launchRequestSchema.safeParse(request.body);
    if (!parsed.success) throw invalid(parsed.error.issues);
    const launchedAt = Date.now();
    const batchId = randomUUID();
    const children: RexJobData[] = Object.entries(parsed.data.input).map(([planId, entry]) => ({
      planId,
      batchId,
      actionClass: entry.action_class ?? RUN_SCRIPT,
      input: entry.action_input,
      launchedAt,
    }));
    const launched = await store.launch(batchId, children);
    request.log.info({ batchId: launched.batchId, hosts: children.length, added: launched.added }, 'rex batch launched');
    return { parent: { result: 'success', task_id: launched.batchId } };
  });

  app.post<{ Params: { id: string } }>('/dynflow/tasks/:id/cancel', { config: protectedRoute }, async (request) => {
    const id = idParam(request.params.id);
    const batch = await store.batch(id);
    const targets = batch ? batch.planIds : [id];
    const cancelled = await Promise.all(targets.map((planId) => store.requestCancel(planId)));
    return { task_id: id, canceled_steps_count: cancelled.filter(Boolean).length };
  });

  app.get<{ Querystring: { state?: string } }>('/dynflow/tasks/count', { config: protectedRoute }, async (request) => {
    const state = typeof request.query.state === 'string' && request.query.state !== '' ? request.query.state : 'all';
    return { count: await store.count(state), state };
  });

  app.post('/dynflow/tasks/status', { config: protectedRoute }, async (request) => {
    const parsed = taskIdsSchema.safeParse(request.body ?? {});
    if (!parsed.success) throw invalid(parsed.error.issues);
    const answer: Record<string, { state: string; result: string }> = {};
    for (const id of parsed.data.task_ids) {
      const job = await store.job(id);
      if (job) answer[id] = planState(job);
      else {
        const batch = await store.batch(id);
        if (batch) {
          const plan = batchPlan(batch);
          answer[id] = { state: String(plan.state), result: String(plan.result) };
        }
      }
    }
    return answer;
  });

  app.post('/dynflow/tasks/statuses', { config: protectedRoute }, async (request, reply) => {
    const parsed = taskIdsSchema.safeParse(request.body ?? {});
    if (!parsed.success) throw invalid(parsed.error.issues);
    if (parsed.data.task_ids.length === 0) return dynflowError(reply, 'PROXYHUB_REX_NO_TASK_IDS', 'task_ids must not be empty');
    const answer: Record<string, unknown> = {};
    for (const id of parsed.data.task_ids) {
      const plan = await planOf(id);
      if (plan) answer[id] = plan;
    }
    return answer;
  });

  app.get<{ Params: { id: string } }>('/dynflow/tasks/:id/status', { config: protectedRoute }, async (request, reply) => {
    const id = idParam(request.params.id);
    const plan = await planOf(id);
    // smart_proxy_dynflow answers an unknown plan with 404 and an empty object: Foreman reads the status only.
    return plan ?? sendProblem(reply, 'PROXYHUB_REX_TASK_NOT_FOUND', `no task ${id}: never launched here, or finished and removed`);
  });

  app.get('/dynflow/tasks/operations', { config: protectedRoute }, async () => [...rexOperations]);
};
