/**
 * The serving half of request/reply over the broker: consume a request queue, answer each
 * request, publish the answer to the caller's reply address with its correlation id. Requests
 * are never retried here: the caller has a deadline and answers its own client.
 */
import type { ForemanReply } from '../../contracts/rpc/foreman-request.ts';
import { FOREMAN_REPLY_TYPE } from '../../contracts/rpc/foreman-request.ts';
import type { Logger } from '../../hub/log/logger.ts';
import type { Consumer, ConsumerHandle, Delivery, Publisher } from '../../hub/bus/transport.ts';
import { errorMessage } from '../../contracts/errors.ts';
import { createInFlight } from './in-flight.ts';
import { TRACEPARENT_HEADER } from '../../hub/bus/transport.ts';
import type { Tracing } from '../../hub/telemetry/trace-context.ts';

export interface RpcServerOptions {
  readonly consumer: Consumer;
  readonly publisher: Publisher;
  readonly queue: string;
  readonly prefetch: number;
  readonly logger: Logger;
  /** Must not throw: a failure is an answer (`{ error, detail }`) the caller can act on. */
  answer(body: Buffer): Promise<ForemanReply | object>;
  /** Message type of the replies. @defaultValue foreman.reply.v1 */
  readonly replyType?: string;
  /** Each answer a hop of the caller's trace (its `traceparent` header). @defaultValue none */
  readonly tracing?: Tracing | undefined;
}

export interface RpcServer {
  start(): Promise<void>;
  close(): Promise<void>;
}

export function createRpcServer(options: RpcServerOptions): RpcServer {
  const inFlight = createInFlight();
  let handle: ConsumerHandle | undefined;

  async function serve(delivery: Delivery): Promise<void> {
    const hop = options.tracing?.hop(`answer ${delivery.type ?? options.queue}`, delivery.headers[TRACEPARENT_HEADER], 'consumer');
    const reply = hop === undefined ? await options.answer(delivery.body) : await hop.run(() => options.answer(delivery.body)).finally(() => hop.end());
    if (delivery.replyTo) {
      await options.publisher
        .publish({ exchange: '', routingKey: delivery.replyTo, body: Buffer.from(JSON.stringify(reply)), messageId: delivery.correlationId ?? '', type: options.replyType ?? FOREMAN_REPLY_TYPE, contentType: 'application/json', mandatory: false, ...(delivery.correlationId ? { correlationId: delivery.correlationId } : {}) })
        .catch((error: unknown) => options.logger.warn({ err: errorMessage(error) }, 'reply not delivered; the caller times out'));
    }
    delivery.ack();
  }

  return {
    async start() {
      handle = await options.consumer.consume(options.queue, inFlight.track(serve), { prefetch: options.prefetch });
    },
    async close() {
      await handle?.cancel();
      await inFlight.settled();
    },
  };
}
