import type { FastifyReply } from 'fastify';
import type { Envelope } from '../../contracts/envelope.ts';
import { ProxyhubError } from '../../contracts/errors.ts';
import { encodeEvent } from '../bus/event-codec.ts';
import type { Publisher } from '../bus/transport.ts';
import { sendProblem } from '../http/problem.ts';

export interface AcceptDependencies {
  readonly publisher: Publisher;
  readonly eventsExchange: string;
}

/** 202 with the event id only once the broker confirmed; 503 with Retry-After otherwise. */
export async function acceptEvent(reply: FastifyReply, deps: AcceptDependencies, envelope: Envelope): Promise<FastifyReply> {
  try {
    await deps.publisher.publish(encodeEvent(envelope, deps.eventsExchange));
  } catch (error) {
    if (error instanceof ProxyhubError) return sendProblem(reply, error.code, error.message);
    throw error;
  }
  return reply.code(202).send({ id: envelope.id });
}
