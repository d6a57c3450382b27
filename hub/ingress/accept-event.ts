import type { FastifyReply } from 'fastify';
import type { Envelope } from '../../contracts/envelope.ts';
import { ProxyhubError } from '../../contracts/errors.ts';
import { encodeEvent } from '../bus/event-codec.ts';
import type { Publisher } from '../bus/transport.ts';
import { sendProblem } from '../http/problem.ts';
import type { ResendIds } from './resend-ids.ts';

export interface AcceptDependencies {
  readonly publisher: Publisher;
  readonly eventsExchange: string;
  /** Ids of uploads answered 503, for their resends (resend-ids.ts). @defaultValue none kept */
  readonly resendIds?: ResendIds | undefined;
}

/**
 * 202 with the event id only once the broker confirmed; 503 with Retry-After otherwise. A resend
 * of content answered 503 goes out under the first attempt's id, which may already be queued.
 */
export async function acceptEvent(reply: FastifyReply, deps: AcceptDependencies, proposed: Envelope): Promise<FastifyReply> {
  const envelope = deps.resendIds?.reuse(proposed) ?? proposed;
  try {
    await deps.publisher.publish(encodeEvent(envelope, deps.eventsExchange));
  } catch (error) {
    if (!(error instanceof ProxyhubError)) throw error;
    deps.resendIds?.remember(envelope);
    return sendProblem(reply, error.code, error.message);
  }
  if (envelope !== proposed) deps.resendIds?.forget(envelope);
  return reply.code(202).send({ id: envelope.id });
}
