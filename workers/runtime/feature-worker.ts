/**
 * The shared consume loop of every feature worker: decode the envelope, skip what was already
 * delivered, wait while another copy of the event is being delivered (delivery-claims.ts), wait
 * while Foreman is paused, run the handler, then settle — ack after the onward
 * effect, a delay tier for a transient failure, the dead-letter queue for a permanent one.
 */
import { createEvent } from '../../contracts/events/create-event.ts';
import { setMaxListeners } from 'node:events';
import { ProxyhubError, errorCodeOf, errorMessage, isRetryable } from '../../contracts/errors.ts';
import type { DeliveryOutcome } from '../../contracts/events/delivery-outcome.ts';
import type { Topology } from '../../contracts/topology.ts';
import { decodeEvent, encodeEvent, type DecodedEvent } from '../../hub/bus/event-codec.ts';
import type { Logger } from '../../hub/log/logger.ts';
import type { RedisClient } from '../../hub/jobs/redis.ts';
import type { Consumer, ConsumerHandle, Delivery, Publisher } from '../../hub/bus/transport.ts';
import { attemptOf, createRerouter, retryDelayFor } from './dead-letters.ts';
import type { AnyFeature, FeatureContext, EventHandler } from './feature.ts';
import { isForemanCallError, type ForemanClient } from './foreman-client.ts';
import { withBrokerPatience } from './broker-patience.ts';
import { deliveryHeaders } from '../../contracts/delivery-headers.ts';
import { UpstreamGate } from './upstream-gate.ts';
import { createInFlight } from './in-flight.ts';
import type { Telemetry } from '../../hub/telemetry/telemetry.ts';
import { createDeliveryClaims } from './delivery-claims.ts';

export interface FeatureWorkerOptions {
  readonly feature: AnyFeature;
  readonly consumer: Consumer;
  readonly publisher: Publisher;
  readonly redis: RedisClient;
  readonly foreman: ForemanClient;
  readonly topology: Topology;
  readonly logger: Logger;
  readonly source: string;
  readonly proxyName: string;
  readonly settings: {
    readonly prefetch: number;
    readonly retryDelaysMs: readonly number[];
    readonly retryDeadlineMs: number;
    readonly upstreamPauseMaxMs: number;
    readonly dedupTtlSeconds: number;
    readonly shutdownGraceMs: number;
  };
  /** Delivery metrics, the Foreman pause in readiness, each delivery a hop of its event's trace. @defaultValue none */
  readonly telemetry?: Telemetry | undefined;
}

export interface FeatureWorker {
  /** Rejects when the work queue cannot be consumed: a worker must not run without it. */
  start(): Promise<void>;
  close(): Promise<void>;
}

export function createFeatureWorker(options: FeatureWorkerOptions): FeatureWorker {
  const { feature, topology, logger, settings } = options;
  const log = logger.child({ feature: feature.name });
  const gate = new UpstreamGate({ maxPauseMs: settings.upstreamPauseMaxMs });
  const rerouter = createRerouter(options.publisher, topology, feature.name);
  const shutdown = new AbortController();
  // Every delivery waiting out a Foreman pause listens for shutdown: up to the prefetch at once.
  setMaxListeners(settings.prefetch + 10, shutdown.signal);
  const inFlight = createInFlight();
  let handle: ConsumerHandle | undefined;
  const telemetry = options.telemetry;
  const metrics = telemetry?.metrics;
  const paused = metrics?.upstreamPaused.labels('foreman', feature.name);
  paused?.set(0);
  const counted = (outcome: 'delivered' | 'duplicate' | 'retried' | 'dead_lettered'): void => metrics?.deliveries.inc({ feature: feature.name, outcome });
  // Readiness reads the pause the deliveries already keep: no probe of its own against Foreman.
  telemetry?.health.add(`foreman (${feature.name})`, () => (gate.open ? true : 'paused: the last delivery to Foreman failed; retrying after the pause'));

  const context: FeatureContext = {
    foreman: options.foreman,
    publishEvent: (envelope) => options.publisher.publish(encodeEvent(envelope, topology.eventsExchange)),
    proxyName: options.proxyName,
    logger: log,
    source: options.source,
  };

  function announce(type: 'delivery.succeeded.v1' | 'delivery.retried.v1' | 'delivery.dead-lettered.v1', outcome: DeliveryOutcome, traceparent?: string): void {
    const envelope = createEvent(type, outcome, { source: options.source, subject: outcome.eventId, traceparent });
    // Informational: nobody has to listen, and a lost outcome event loses nothing.
    options.publisher.publish(encodeEvent(envelope, topology.outcomesExchange, { mandatory: false })).catch(() => undefined);
  }

  async function alreadyDelivered(eventId: string): Promise<boolean> {
    try {
      return (await options.redis.exists(topology.deliveredKey(feature.name, eventId))) === 1;
    } catch (error) {
      log.warn({ err: errorMessage(error) }, 'dedup lookup failed; delivering anyway (at-least-once)');
      return false;
    }
  }

  async function rememberDelivered(eventId: string): Promise<void> {
    await options.redis
      .set(topology.deliveredKey(feature.name, eventId), '1', 'EX', settings.dedupTtlSeconds)
      .catch((error: unknown) => log.warn({ err: errorMessage(error) }, 'dedup record not written; a redelivery may repeat this event'));
  }

  const claims = createDeliveryClaims({
    redis: options.redis,
    claimKey: (eventId) => topology.claimKey(feature.name, eventId),
    isDelivered: alreadyDelivered,
    onRedisError: (error) => log.warn({ err: errorMessage(error) }, 'delivery claim not taken or kept; delivering anyway (at-least-once)'),
  });

  async function runHandler(event: DecodedEvent): Promise<void> {
    const handler = (feature.handlers as Record<string, EventHandler<typeof event.type>>)[event.type];
    if (!handler) throw new ProxyhubError('PROXYHUB_EVENT_UNKNOWN_TYPE', `feature ${feature.name} has no handler for ${event.type}`);
    const probe = await gate.pass(shutdown.signal);
    try {
      await handler(event, context);
      gate.succeeded();
    } catch (error) {
      if (isForemanCallError(error)) {
        if (error.retryable) gate.failed(probe);
        else gate.succeeded(); // Foreman answered: it is up, this event is the problem.
      } else gate.abandon();
      throw error;
    } finally {
      paused?.set(gate.open ? 0 : 1);
    }
  }

  const patiently = (publish: () => Promise<void>) =>
    withBrokerPatience(publish, shutdown.signal, (error, pauseMs) => log.warn({ err: errorMessage(error), pauseMs }, 'broker not taking publishes; holding the delivery'));

  async function onFailure(delivery: Delivery, event: DecodedEvent | undefined, error: unknown, attempt: number): Promise<void> {
    const base = { eventId: event?.id ?? delivery.messageId ?? '', eventType: event?.type ?? delivery.type ?? '', feature: feature.name, attempt, code: errorCodeOf(error), reason: errorMessage(error) };
    const retryable = isRetryable(error);
    // A replayed dead letter gets a fresh deadline, or an old one would bounce straight back.
    const replayedAt = delivery.headers[deliveryHeaders.replayedAt];
    const acceptedAt = typeof replayedAt === 'string' ? Date.parse(replayedAt) : event ? Date.parse(event.time) : Date.now();
    if (retryable && Date.now() - acceptedAt < settings.retryDeadlineMs) {
      const delayMs = retryDelayFor(settings.retryDelaysMs, attempt + 1);
      await patiently(() => rerouter.scheduleRetry(delivery, attempt + 1, delayMs));
      delivery.ack();
      counted('retried');
      metrics?.retries.inc({ feature: feature.name, tier: String(delayMs) });
      log.info({ eventId: base.eventId, attempt, delayMs, err: base.reason }, 'delivery failed; retry scheduled');
      announce('delivery.retried.v1', { ...base, outcome: 'retry-scheduled', retryInMs: delayMs }, event?.traceparent);
      return;
    }
    const finalError = retryable ? new ProxyhubError('PROXYHUB_DELIVERY_EXHAUSTED', `gave up after ${attempt} attempts: ${base.reason}`, { cause: error }) : error;
    await patiently(() => rerouter.deadLetter(delivery, finalError, attempt));
    delivery.ack();
    counted('dead_lettered');
    log.warn({ eventId: base.eventId, code: errorCodeOf(finalError), err: errorMessage(finalError) }, 'event dead-lettered');
    announce('delivery.dead-lettered.v1', { ...base, code: errorCodeOf(finalError), reason: errorMessage(finalError), outcome: 'dead-lettered' }, event?.traceparent);
  }

  /** The delivery as a hop of the event's trace: the Foreman calls inside it continue the trace. */
  async function traced(event: DecodedEvent): Promise<void> {
    if (telemetry === undefined) return runHandler(event);
    const hop = telemetry.tracing.hop(`deliver ${event.type}`, event.traceparent, 'consumer');
    try {
      await hop.run(() => runHandler(event));
      hop.end();
    } catch (error) {
      hop.end(error);
      throw error;
    }
  }

  async function processDelivery(delivery: Delivery): Promise<void> {
    const attempt = attemptOf(delivery);
    let event: DecodedEvent | undefined;
    try {
      event = decodeEvent(delivery);
      const claim = (await alreadyDelivered(event.id)) ? 'delivered' : await claims.acquire(event.id, shutdown.signal);
      if (claim === 'delivered') {
        delivery.ack();
        counted('duplicate');
        announce('delivery.succeeded.v1', { eventId: event.id, eventType: event.type, feature: feature.name, attempt, outcome: 'duplicate' }, event.traceparent);
        return;
      }
      try {
        await traced(event);
        await rememberDelivered(event.id);
      } finally {
        await claim.release();
      }
      delivery.ack();
      counted('delivered');
      metrics?.deliveryLatency.observe({ feature: feature.name }, Math.max(0, Date.now() - Date.parse(event.time)) / 1000);
      announce('delivery.succeeded.v1', { eventId: event.id, eventType: event.type, feature: feature.name, attempt, outcome: 'delivered' }, event.traceparent);
    } catch (error) {
      if (shutdown.signal.aborted) return delivery.requeue();
      try {
        await onFailure(delivery, event, error, attempt);
      } catch (rerouteError) {
        // The broker could not take the copy: leave the original where it is.
        log.warn({ err: errorMessage(rerouteError) }, 'could not reroute a failed delivery; requeueing');
        delivery.requeue();
      }
    }
  }

  return {
    async start() {
      const prefetch = Math.min(settings.prefetch, feature.maxPrefetch ?? settings.prefetch);
      handle = await options.consumer.consume(topology.workQueue(feature.name), inFlight.track(processDelivery), { prefetch });
    },
    async close() {
      await handle?.cancel();
      const grace = new Promise((resolve) => setTimeout(resolve, settings.shutdownGraceMs).unref());
      // Deliveries waiting out a Foreman pause go back to the queue now; calls under way finish.
      setTimeout(() => shutdown.abort(new Error('worker shutting down')), Math.min(1000, settings.shutdownGraceMs)).unref();
      await Promise.race([inFlight.settled(), grace]);
      shutdown.abort(new Error('worker shutting down'));
    },
  };
}
