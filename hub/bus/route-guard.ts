/**
 * Proof that a message has a queue behind it, for brokers that settle an unroutable message as
 * `accepted` and drop it (RabbitMQ 3.x's AMQP 1.0 plugin has no `mandatory`). The bindings are
 * the ones contracts/topology.ts declares and this process re-declares on every connect, so a
 * route exists while one of its queues exists; queue existence is checked through 0-9-1 and
 * remembered briefly, so the check costs one round trip per queue now and then, not per message.
 */
import { featureBindings, queueFeatures, type Topology } from '../../contracts/topology.ts';
import type { RabbitAdmin } from './rabbit-admin.ts';

/** How long a queue's existence is taken as known. A deleted queue fails publishes within this. */
export const ROUTE_CHECK_MS = 2000;

/**
 * The queues the declared bindings route `routingKey` on `exchange` to; undefined when the
 * contracts do not know the route (someone else's binding), which is then not verified.
 */
export function boundQueues(topology: Topology, exchange: string, routingKey: string): readonly string[] | undefined {
  if (exchange === '') return [routingKey];
  if (exchange === topology.eventsExchange) {
    const queues = queueFeatures.filter((feature) => (featureBindings[feature] as readonly string[]).includes(routingKey)).map((feature) => topology.workQueue(feature));
    return queues.length > 0 ? queues : undefined;
  }
  if (exchange === topology.deadLetterExchange) {
    const feature = queueFeatures.find((f) => topology.workQueue(f) === routingKey);
    return feature === undefined ? undefined : [topology.deadLetterQueue(feature)];
  }
  return undefined;
}

export class RouteGuard {
  readonly #known = new Map<string, { readonly at: number; readonly exists: Promise<boolean> }>();
  readonly #admin: RabbitAdmin;
  readonly #topology: Topology;

  constructor(admin: RabbitAdmin, topology: Topology) {
    this.#admin = admin;
    this.#topology = topology;
  }

  /** True when at least one queue takes the message (or the route is not ours to check). */
  async routable(exchange: string, routingKey: string): Promise<boolean> {
    const queues = boundQueues(this.#topology, exchange, routingKey);
    if (queues === undefined) return true;
    const exists = await Promise.all(queues.map((queue) => this.#exists(queue)));
    return exists.some(Boolean);
  }

  #exists(queue: string): Promise<boolean> {
    const cached = this.#known.get(queue);
    if (cached && Date.now() - cached.at < ROUTE_CHECK_MS) return cached.exists;
    const exists = this.#admin.queueInfo(queue).then((info) => info !== undefined);
    // A failed lookup (broker unreachable) is not remembered; the publish fails on its own.
    exists.catch(() => this.#known.delete(queue));
    this.#known.set(queue, { at: Date.now(), exists });
    return exists;
  }

  /** After a reconnect the broker may have lost non-durable state: look again. */
  forget(): void {
    this.#known.clear();
  }
}
