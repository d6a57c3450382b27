/**
 * Routing for brokers that settle an unroutable message as `accepted` and drop it (RabbitMQ
 * 3.x's AMQP 1.0 plugin has no `mandatory`, and a binding removed at run time would silently
 * swallow events answered 202). For the routes contracts/topology.ts declares, the hub routes
 * itself: the message goes straight to each bound queue's address (`/amq/queue/Q`), and only to
 * queues proven to exist; none existing is PROXYHUB_BUS_UNROUTABLE. Existence is checked through
 * 0-9-1 and remembered briefly, one round trip per queue now and then, not per message.
 */
import { ProxyhubError } from '../../../contracts/errors.ts';
import { featureBindings, queueFeatures, type Topology } from '../../../contracts/topology.ts';
import type { RabbitAdmin } from './rabbit-admin.ts';

/** Where one message is sent: an exchange and key, or ('', queue) for a queue itself. */
export interface RouteTarget {
  readonly exchange: string;
  readonly routingKey: string;
}

/** How long a queue's existence is taken as known. A deleted queue fails publishes within this. */
export const ROUTE_CHECK_MS = 2000;

/**
 * The queues the declared bindings route `routingKey` on `exchange` to; undefined when the
 * contracts do not know the route (someone else's binding), which is then not verified.
 */
export function boundQueues(topology: Topology, exchange: string, routingKey: string): readonly string[] | undefined {
  if (exchange === '') return [routingKey];
  // Queues bound by their own name: the RPC request queues and each feature's delay tiers.
  if (exchange === topology.rpcExchange || queueFeatures.some((f) => topology.retryExchange(f) === exchange)) return [routingKey];
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
  readonly #known = new Map<string, { readonly at: number; readonly exists: Promise<boolean>; found?: boolean }>();
  readonly #admin: RabbitAdmin;
  readonly #topology: Topology;

  constructor(admin: RabbitAdmin, topology: Topology) {
    this.#admin = admin;
    this.#topology = topology;
  }

  /**
   * The queues to send to for a mandatory message; a route the contracts do not know (someone
   * else's binding) is sent to the exchange unverified.
   */
  async targets(exchange: string, routingKey: string): Promise<readonly RouteTarget[]> {
    const queues = boundQueues(this.#topology, exchange, routingKey);
    if (queues === undefined) return [{ exchange, routingKey }];
    const exists = await Promise.all(queues.map((queue) => this.#exists(queue)));
    const present = queues.filter((_, index) => exists[index]);
    if (present.length === 0) throw new ProxyhubError('PROXYHUB_BUS_UNROUTABLE', `no queue takes ${routingKey}${exchange ? ` on ${exchange}` : ''}`);
    return present.map((queue) => ({ exchange: '', routingKey: queue }));
  }

  /**
   * The targets without waiting, when every queue of the route was seen recently (the common
   * case): the ingress's hot path then costs no timer and no round trip. Undefined otherwise.
   */
  cachedTargets(exchange: string, routingKey: string): readonly RouteTarget[] | undefined {
    const queues = boundQueues(this.#topology, exchange, routingKey);
    if (queues === undefined) return [{ exchange, routingKey }];
    const now = Date.now();
    const fresh = queues.every((queue) => {
      const known = this.#known.get(queue);
      return known?.found === true && now - known.at < ROUTE_CHECK_MS;
    });
    return fresh ? queues.map((queue) => ({ exchange: '', routingKey: queue })) : undefined;
  }

  /** Only a queue found is remembered: a missing one is asked for again, so a re-created queue counts at once. */
  #exists(queue: string): Promise<boolean> {
    const cached = this.#known.get(queue);
    if (cached && Date.now() - cached.at < ROUTE_CHECK_MS) return cached.exists;
    const exists = this.#admin.queueInfo(queue).then((info) => info !== undefined);
    const forget = (): void => {
      if (this.#known.get(queue)?.exists === exists) this.#known.delete(queue);
    };
    const entry: { readonly at: number; readonly exists: Promise<boolean>; found?: boolean } = { at: Date.now(), exists };
    exists.then((found) => {
      entry.found = found;
      if (!found) forget();
    }, forget);
    this.#known.set(queue, entry);
    return exists;
  }

  /** After a reconnect the broker may have lost non-durable state: look again. */
  forget(): void {
    this.#known.clear();
  }
}
