/**
 * The broker's ceiling for what the hub does per upload, without HTTP: one ConfirmChannel,
 * persistent + mandatory publishes of the hub's own message to the hub's own exchange and quorum
 * queue (declared by the hub's declareTopology), with a bounded window of unconfirmed messages.
 *
 * Paced (`ratePerSec`), the publishes are due at a fixed rate instead, at most `window` of them
 * unconfirmed (as many as the HTTP clients): publish → confirm is then the broker's own latency
 * at that rate, below which no ingress answering after the confirm can go. A publish due while
 * the window is full waits for a free slot; how long (`dueWaitP99Ms`, of those sent) and how many were still
 * waiting at the end (`dueBehind`) say whether the broker kept up with the rate at all.
 */
import amqplib from 'amqplib';
import { createTopology, queueFeatures } from '../../contracts/topology.ts';
import { declareTopology } from '../../hub/bus/declare-topology.ts';
import type { OutgoingMessage } from '../../hub/bus/transport.ts';
import { percentile } from './stats.ts';

export interface RawSpec {
  readonly amqpUrl: string;
  readonly prefix: string;
  readonly message: OutgoingMessage;
  readonly window: number;
  readonly warmupSec: number;
  readonly durationSec: number;
  /** Publishes due per second (open loop); absent: the window is kept full. */
  readonly ratePerSec?: number;
  readonly onMeasuring: () => void;
}

export interface RawResult {
  readonly durationSec: number;
  /** Confirms received in the measured window. */
  readonly confirmed: number;
  readonly confirmedPerSec: number;
  readonly nacked: number;
  readonly returned: number;
  /** All confirmed publishes, warm-up included: what the queue should hold afterwards. */
  readonly confirmedTotal: number;
  /** Publish → confirm, for messages published and confirmed inside the window. */
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** This process's CPU (it is the load generator here), % of one core. */
  readonly publisherCpuPercent: number;
  /** Paced: publishes due but not yet sent when the measured window ended (the broker fell behind). */
  readonly dueBehind?: number;
  /** Paced: p99 of how long a measured publish waited after it was due, for a free slot of the window. */
  readonly dueWaitP99Ms?: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export async function measureRawPublish(spec: RawSpec): Promise<RawResult> {
  const { message } = spec;
  const connection = await amqplib.connect(spec.amqpUrl);
  let clock: NodeJS.Timeout | undefined;
  try {
    const channel = await connection.createConfirmChannel();
    await declareTopology(connection, createTopology(spec.prefix), { features: queueFeatures });

    let phase: 'warmup' | 'measure' | 'stop' = 'warmup';
    let inFlight = 0;
    let sequence = 0;
    let confirmed = 0;
    let confirmedTotal = 0;
    let nacked = 0;
    let returned = 0;
    const latencies: number[] = [];
    const dueWaits: number[] = [];
    // A broker restart mid-run must end the scenario with a message, not crash the process.
    let failure: Error | undefined;
    const fail = (error: unknown): void => {
      failure ??= error instanceof Error ? error : new Error(String(error));
      phase = 'stop';
      clearInterval(clock);
    };
    const check = (): void => {
      if (failure !== undefined) throw new Error(`raw scenario: broker connection failed: ${failure.message}`, { cause: failure });
    };
    connection.on('error', fail);
    channel.on('error', fail);
    channel.on('close', () => fail(new Error('channel closed')));
    channel.on('return', () => (returned += 1));

    const publishOne = (dueAt?: number): void => {
      inFlight += 1;
      sequence += 1;
      const publishedAt = performance.now();
      const inWindow = phase === 'measure';
      if (inWindow && dueAt !== undefined) dueWaits.push(publishedAt - dueAt);
      const options = {
        persistent: true,
        mandatory: true,
        messageId: `bench-${sequence}`,
        type: message.type,
        contentType: message.contentType,
        timestamp: Math.floor(Date.now() / 1000),
        headers: message.headers,
      };
      channel.publish(message.exchange, message.routingKey, message.body, options, (error: unknown) => {
        inFlight -= 1;
        if (error) nacked += 1;
        else confirmedTotal += 1;
        if (phase === 'measure' && !error) {
          confirmed += 1;
          if (inWindow) latencies.push(performance.now() - publishedAt);
        }
        pump();
      });
    };
    // Paced: publishes due so far (the clock counts them each millisecond), and those sent.
    const paced = spec.ratePerSec;
    const pacedFrom = performance.now();
    let due = 0;
    let nextDue = 0;
    // Refilled from every confirm: unpaced, exactly `window` messages stay unconfirmed; paced, at most that many.
    const pump = (): void => {
      try {
        if (paced === undefined) while (phase !== 'stop' && inFlight < spec.window) publishOne();
        else for (; phase !== 'stop' && inFlight < spec.window && nextDue < due; nextDue += 1) publishOne(pacedFrom + (nextDue * 1000) / paced);
      } catch (error) {
        fail(error);
      }
    };
    if (paced !== undefined) {
      clock = setInterval(() => {
        due = Math.ceil(((performance.now() - pacedFrom) / 1000) * paced);
        pump();
      }, 1);
    }

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
    clearInterval(clock);
    const dueBehind = due - nextDue;
    const seconds = (performance.now() - startedAt) / 1000;
    const cpu = process.cpuUsage(cpuAtStart);
    // Let the window drain so the queue-depth check counts every confirmed message.
    for (let waited = 0; inFlight > 0 && waited < 10_000; waited += 20) await sleep(20);
    check();

    latencies.sort((a, b) => a - b);
    dueWaits.sort((a, b) => a - b);
    return {
      durationSec: seconds,
      confirmed,
      confirmedPerSec: confirmed / seconds,
      nacked,
      returned,
      confirmedTotal,
      p50Ms: percentile(latencies, 50, 0),
      p99Ms: percentile(latencies, 99, 0),
      publisherCpuPercent: ((cpu.user + cpu.system) / 1e6 / seconds) * 100,
      ...(paced === undefined ? {} : { dueBehind, dueWaitP99Ms: percentile(dueWaits, 99, 0) }),
    };
  } finally {
    clearInterval(clock);
    await connection.close().catch(() => undefined);
  }
}
