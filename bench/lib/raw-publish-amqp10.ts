/**
 * The AMQP 1.0 counterpart of raw-publish.ts: the broker's ceiling for what the hub does per
 * upload over rhea, without HTTP. One sender link to the facts queue's address (where the hub's
 * AMQP 1.0 publisher sends on RabbitMQ 3.x), durable messages built by the hub's own mapping,
 * counted on `accepted`, with a bounded window of unsettled messages.
 */
import type { Connection, EventContext } from 'rhea';
import rhea from 'rhea';
import { createTopology, queueFeatures } from '../../contracts/topology.ts';
import { addressesFor } from '../../hub/bus/amqp10/addresses.ts';
import { connectionOptionsFrom, openSender } from '../../hub/bus/amqp10/connection.ts';
import { toRheaMessage } from '../../hub/bus/amqp10/message.ts';
import { declareTopology } from '../../hub/bus/declare-topology.ts';
import amqplib from 'amqplib';
import type { RawResult, RawSpec } from './raw-publish.ts';
import { percentile } from './stats.ts';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function connect(url: string): Promise<Connection> {
  return new Promise((resolve, reject) => {
    const options = { ...connectionOptionsFrom(url, 'rabbitmq3', 'proxyhub-bench-raw'), session_buffer_size: 4096 };
    const connection = rhea.create_container({ id: 'proxyhub-bench' }).connect(options);
    connection.once('connection_open', () => resolve(connection));
    connection.once('disconnected', (context: EventContext) => reject(new Error(String(context.error ?? 'disconnected'))));
  });
}

export async function measureRawPublishAmqp10(spec: RawSpec): Promise<RawResult> {
  // Issue 12's latency bar is the AMQP 0-9-1 ingress's; only that publisher is paced.
  if (spec.ratePerSec !== undefined) throw new Error('paced raw publishing is measured over AMQP 0-9-1 only');
  const topology = createTopology(spec.prefix);
  // The topology as the hub has it (declared over 0-9-1, as the hub does on RabbitMQ 3.x).
  const admin = await amqplib.connect(spec.amqpUrl);
  try {
    await declareTopology(admin, topology, { features: queueFeatures });
  } finally {
    await admin.close().catch(() => undefined);
  }
  const connection = await connect(spec.amqpUrl);
  try {
    const queue = topology.workQueue('facts');
    const sender = await openSender(connection, { target: { address: addressesFor('rabbitmq3').target('', queue) }, autosettle: true });
    let phase: 'warmup' | 'measure' | 'stop' = 'warmup';
    let inFlight = 0;
    let sequence = 0;
    let confirmed = 0;
    let confirmedTotal = 0;
    let refused = 0;
    const latencies: number[] = [];
    const sentAt = new Map<unknown, { at: number; inWindow: boolean }>();
    let failure: Error | undefined;
    connection.on('disconnected', (context: EventContext) => {
      failure ??= new Error(String(context.error ?? 'disconnected'));
      phase = 'stop';
    });
    const settled = (accepted: boolean) => (context: EventContext): void => {
      const sent = sentAt.get(context.delivery);
      sentAt.delete(context.delivery);
      inFlight -= 1;
      if (accepted) confirmedTotal += 1;
      else refused += 1;
      if (phase === 'measure' && accepted) {
        confirmed += 1;
        if (sent?.inWindow) latencies.push(performance.now() - sent.at);
      }
      pump();
    };
    sender.on('accepted', settled(true));
    for (const outcome of ['released', 'rejected', 'modified']) sender.on(outcome, settled(false));
    const pump = (): void => {
      while (phase !== 'stop' && inFlight < spec.window) {
        inFlight += 1;
        sequence += 1;
        const delivery = sender.send(toRheaMessage({ ...spec.message, exchange: '', routingKey: queue, messageId: `bench-${sequence}`, timestamp: Math.floor(Date.now() / 1000) }));
        sentAt.set(delivery, { at: performance.now(), inWindow: phase === 'measure' });
      }
    };
    const check = (): void => {
      if (failure !== undefined) throw new Error(`raw scenario: broker connection failed: ${failure.message}`, { cause: failure });
    };

    pump();
    await sleep(spec.warmupSec * 1000);
    check();
    phase = 'measure';
    const cpuAtStart = process.cpuUsage();
    const startedAt = performance.now();
    spec.onMeasuring();
    await sleep(spec.durationSec * 1000);
    check();
    phase = 'stop';
    const seconds = (performance.now() - startedAt) / 1000;
    const cpu = process.cpuUsage(cpuAtStart);
    for (let waited = 0; inFlight > 0 && waited < 10_000; waited += 20) await sleep(20);
    check();
    latencies.sort((a, b) => a - b);
    return {
      durationSec: seconds,
      confirmed,
      confirmedPerSec: confirmed / seconds,
      nacked: refused,
      // Over AMQP 1.0 nothing comes back: what no queue took is `released`, counted as refused.
      returned: 0,
      confirmedTotal,
      p50Ms: percentile(latencies, 50, 0),
      p99Ms: percentile(latencies, 99, 0),
      publisherCpuPercent: ((cpu.user + cpu.system) / 1e6 / seconds) * 100,
    };
  } finally {
    connection.close();
  }
}
