/**
 * The dead-letter API on the control listener (trusted_hosts + certificate, like the
 * smart-proxy's own admin routes): `GET /dead-letters`, `GET /dead-letters/:id`,
 * `POST /dead-letters/replay`.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { queueFeatures } from '../../contracts/topology.ts';
import { sendProblem } from '../http/problem.ts';
import { deadLetterFilterSchema } from './dead-letter-filter.ts';
import type { DeadLetterService } from './dead-letters.ts';

const protectedRoute = { identity: 'required', trustedHosts: true } as const;
const querySchema = deadLetterFilterSchema.extend({ feature: z.enum(queueFeatures).optional(), limit: z.coerce.number().int().min(1).max(10_000).default(100) });
const replaySchema = z.union([
  deadLetterFilterSchema.extend({ ids: z.array(z.string().min(1)).min(1), feature: z.enum(queueFeatures).optional() }),
  deadLetterFilterSchema.extend({ all: z.literal(true), feature: z.enum(queueFeatures).optional() }),
]);

export const deadLetterRoutes: FastifyPluginAsync<{ service: DeadLetterService }> = async (app, { service }) => {
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  const routes = app.withTypeProvider<ZodTypeProvider>();
  routes.get('/dead-letters', { config: protectedRoute, schema: { querystring: querySchema } }, async (request) => ({ deadLetters: await service.list(request.query) }));
  routes.get('/dead-letters/:id', { config: protectedRoute, schema: { params: z.object({ id: z.string().min(1) }) } }, async (request, reply) => {
    const found = await service.show(request.params.id, {});
    return found ?? sendProblem(reply, 'PROXYHUB_ROUTE_NOT_FOUND', `no dead letter with id ${request.params.id}`);
  });
  routes.post('/dead-letters/replay', { config: protectedRoute, schema: { body: replaySchema } }, async (request) => service.replay(request.body));
};
