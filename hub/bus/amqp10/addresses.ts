/**
 * How exchange/routing-key and queue names become AMQP 1.0 node addresses. AMQP 1.0 has no
 * exchanges; each broker maps its own model onto addresses, so the scheme is a setting.
 */

export const addressSchemes = ['rabbitmq3', 'rabbitmq4', 'plain'] as const;
export type AddressScheme = (typeof addressSchemes)[number];

export interface Addresses {
  readonly scheme: AddressScheme;
  /** The target for a message the 0-9-1 side would publish to `exchange` with `routingKey` ('' = the queue named by the key). */
  target(exchange: string, routingKey: string): string;
  /** The source a receiver attaches to for consuming `queue`. */
  queue(queue: string): string;
  /** The `reply-to` value that names `queue`, readable by a 0-9-1 peer where the broker translates it. */
  replyTo(queue: string): string;
  /** The queue name behind a `reply-to` (what a replier passes back as the routing key). */
  replyQueue(replyTo: string): string;
  /**
   * RabbitMQ 3.x's plugin settles a message no queue takes as `accepted` (and drops it); the
   * publisher then has to prove a route exists itself. RabbitMQ 4 answers `released` instead.
   */
  readonly acceptsUnroutable: boolean;
  /** The broker also speaks AMQP 0-9-1 on the same port (topology is declared through it). */
  readonly isRabbitMq: boolean;
}

function stripPrefix(value: string, prefixes: readonly string[]): string {
  const prefix = prefixes.find((p) => value.startsWith(p));
  return prefix === undefined ? value : value.slice(prefix.length);
}

/**
 * RabbitMQ 3.x plugin (v1 addresses). Queues are addressed as `/amq/queue/Q` because `/queue/Q`
 * declares a transient queue of that name when none exists; `/queue/R` is used only in
 * reply-to, which the plugin translates to the bare name R for 0-9-1 peers.
 */
const rabbitmq3: Addresses = {
  scheme: 'rabbitmq3',
  target: (exchange, routingKey) => (exchange === '' ? `/amq/queue/${routingKey}` : `/exchange/${exchange}/${routingKey}`),
  queue: (queue) => `/amq/queue/${queue}`,
  replyTo: (queue) => `/queue/${queue}`,
  replyQueue: (replyTo) => stripPrefix(replyTo, ['/amq/queue/', '/queue/']),
  acceptsUnroutable: true,
  isRabbitMq: true,
};

/** RabbitMQ 4.x native AMQP 1.0 (v2 addresses): names are percent-encoded path segments. */
const rabbitmq4: Addresses = {
  scheme: 'rabbitmq4',
  target: (exchange, routingKey) => (exchange === '' ? `/queues/${encodeURIComponent(routingKey)}` : `/exchanges/${encodeURIComponent(exchange)}/${encodeURIComponent(routingKey)}`),
  queue: (queue) => `/queues/${encodeURIComponent(queue)}`,
  replyTo: (queue) => `/queues/${encodeURIComponent(queue)}`,
  replyQueue: (replyTo) => decodeURIComponent(stripPrefix(replyTo, ['/queues/'])),
  acceptsUnroutable: false,
  isRabbitMq: true,
};

/**
 * Brokers without exchanges (ActiveMQ Artemis, Qpid Dispatch in front of a broker): a queue is
 * the node of its own name, and exchange X with key K is the node `X/K`, which the operator
 * routes to the queues (see README, "Broker topology").
 */
const plain: Addresses = {
  scheme: 'plain',
  target: (exchange, routingKey) => (exchange === '' ? routingKey : `${exchange}/${routingKey}`),
  queue: (queue) => queue,
  replyTo: (queue) => queue,
  replyQueue: (replyTo) => replyTo,
  acceptsUnroutable: false,
  isRabbitMq: false,
};

export function addressesFor(scheme: AddressScheme): Addresses {
  switch (scheme) {
    case 'rabbitmq3':
      return rabbitmq3;
    case 'rabbitmq4':
      return rabbitmq4;
    case 'plain':
      return plain;
    default: {
      const unknown: never = scheme;
      throw new Error(`unknown address scheme ${String(unknown)}`);
    }
  }
}
