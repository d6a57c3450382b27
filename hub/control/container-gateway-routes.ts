/**
 * Katello's side of the container gateway on the control listener (container-gateway-contract §4),
 * trusted_hosts + certificate like the plugin's `do_authorize_any`: `GET /container_gateway/users`
 * and the PUTs that replace the gateway's tables. Bodies come form-encoded with Rack-style nested
 * keys (how Foreman's ProxyAPI sends a Ruby hash) or as JSON; each PUT answers `{}`.
 *
 * The tables are written to Redis here directly, not through the worker over RPC: the RPC queue is
 * reachable by the ingress's broker account (requests go through one direct exchange), so a table
 * write sent that way could be forged by the ingress, which must never decide who may pull what.
 * Control already has its own Redis account; the gateway worker reads what is written here.
 */
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { z } from 'zod';
import { parseRackForm } from '../../contracts/container-gateway/rack-form.ts';
import { ProxyhubError, errorMessage } from '../../contracts/errors.ts';
import {
  hostListBodySchema,
  hostMappingBodySchema,
  hostRows,
  mappingRows,
  repositoryListBodySchema,
  repositoryRows,
  userMappingBodySchema,
} from '../../contracts/container-gateway/tables.ts';
import type { GatewayStore } from '../container-gateway/gateway-store.ts';
import { sendProblem } from '../http/problem.ts';

const protectedRoute = { identity: 'required', trustedHosts: true } as const;

export interface ContainerGatewayControlOptions {
  readonly store: GatewayStore;
  /** Katello pushes every host and mapping in one body. */
  readonly bodyLimit: number;
}

export const containerGatewayControlRoutes: FastifyPluginAsync<ContainerGatewayControlOptions> = async (app, { store, bodyLimit }) => {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit }, (_request, body, done) => {
    try {
      done(null, parseRackForm(String(body)));
    } catch (error) {
      done(new ProxyhubError('PROXYHUB_INPUT_MALFORMED', `body could not be parsed: ${errorMessage(error)}`));
    }
  });
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit }, (_request, body, done) => {
    try {
      done(null, String(body).trim() === '' ? {} : JSON.parse(String(body)));
    } catch (error) {
      done(new ProxyhubError('PROXYHUB_INPUT_MALFORMED', `body could not be parsed: ${errorMessage(error)}`));
    }
  });

  /** Validates, then writes; `{}` as the plugin answers. */
  function push<S extends z.ZodType>(url: string, schema: S, write: (body: z.output<S>) => Promise<void>): void {
    app.put(`/container_gateway/${url}`, { config: protectedRoute }, async (request, reply): Promise<FastifyReply> => {
      const parsed = schema.safeParse(request.body ?? {});
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        return sendProblem(reply, 'PROXYHUB_INPUT_INVALID', issue?.message ?? 'invalid body', [{ location: 'body', field: issue?.path.join('.') ?? '', message: issue?.message ?? 'invalid' }]);
      }
      try {
        await write(parsed.data);
      } catch (error) {
        request.log.warn({ err: errorMessage(error), route: url }, 'container gateway table not stored');
        return sendProblem(reply, 'PROXYHUB_GATEWAY_STORE_UNAVAILABLE', 'the table could not be stored; Katello pushes it again at the next capsule sync');
      }
      return reply.send({});
    });
  }

  app.get('/container_gateway/users', { config: protectedRoute }, async (request, reply) => {
    try {
      return reply.send({ users: await store.users() });
    } catch (error) {
      request.log.warn({ err: errorMessage(error) }, 'container gateway users not read');
      return sendProblem(reply, 'PROXYHUB_GATEWAY_STORE_UNAVAILABLE', 'the users could not be read');
    }
  });
  push('repository_list', repositoryListBodySchema, (body) => store.replaceRepositories(repositoryRows(body)));
  push('user_repository_mapping', userMappingBodySchema, (body) => store.replaceUserRepositories(mappingRows(body.users, true)));
  push('update_hosts', hostListBodySchema, (body) => store.replaceHosts(hostRows(body)));
  push('host_repository_mapping', hostMappingBodySchema, (body) => store.replaceHostRepositories(mappingRows(body.hosts, false)));
  push('update_host_repositories', hostMappingBodySchema, (body) => store.updateHostRepositories(mappingRows(body.hosts, false)));
};
