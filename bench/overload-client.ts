/**
 * The overload benchmark's load generator, in a process of its own so that it never shares an
 * event loop with the hub: `node --import tsx bench/overload-client.ts '<json spec>'`.
 *
 * mTLS keep-alive connections (one host certificate) run a sequence of phases on one timeline:
 * - `closed`: each of `connections` sends its next request when the answer to the last one came,
 *   ignoring Retry-After (the worst client there is); with `rate` set, each connection also waits
 *   until `connections / rate` seconds after its previous send, so the clients offer `rate` in
 *   all while the hub answers fast, and no more than `connections` requests wait at once.
 * - `open`: requests arrive at `rate` per second whatever the answers (thousands of hosts' cron
 *   jobs do not wait for each other); a due request takes an idle connection, or a new one up to
 *   `connections`, or waits in the client. Latency counts from when it was due, so a server that
 *   falls behind cannot hide the wait (no coordinated omission).
 * A rate given as `{ ofPhase, factor }` is that factor times the 202 rate the named phase reached.
 *
 * Prints one JSON line (OverloadClientResult): counts per `bucketMs` over the whole timeline, and
 * per phase the 202 rate and the latency of 202 and 503 answers.
 */
import { connect, type TLSSocket } from 'node:tls';
import { readFileSync } from 'node:fs';
import { percentile } from './lib/stats.ts';

export type PhaseRate = number | { readonly ofPhase: string; readonly factor: number };

export interface OverloadPhase {
  readonly name: string;
  readonly kind: 'closed' | 'open';
  readonly durationMs: number;
  readonly connections: number;
  readonly rate?: PhaseRate;
}

export interface OverloadClientSpec {
  readonly host: string;
  readonly port: number;
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
  readonly path: string;
  readonly body: string;
  readonly bucketMs: number;
  readonly phases: readonly OverloadPhase[];
}

export interface LatencySummary {
  readonly count: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

export interface PhaseResult {
  readonly name: string;
  readonly kind: 'closed' | 'open';
  readonly startMs: number;
  readonly durationMs: number;
  readonly connections: number;
  /** The offered rate (open; paced closed), or null for an unpaced closed loop. */
  readonly offeredPerSec: number | null;
  readonly acceptedPerSec: number;
  readonly accepted: LatencySummary;
  readonly refused: LatencySummary;
  readonly refusedWithoutRetryAfter: number;
  readonly other: number;
  readonly errors: number;
  /** Open loop: requests still waiting in the client for a connection when the phase ended. */
  readonly backlogAtEnd: number;
}

export interface OverloadClientResult {
  readonly bucketMs: number;
  /** Per bucket from the start of the first phase: [202, 503, other status, socket errors]. */
  readonly buckets: ReadonlyArray<readonly [number, number, number, number]>;
  readonly phases: readonly PhaseResult[];
  readonly connectionsOpened: number;
  /** Date.now() when the first phase started: phase times are from here (for other processes' clocks). */
  readonly startedAtEpochMs: number;
}

const HEAD_END = Buffer.from('\r\n\r\n');

interface PhaseTally {
  readonly accepted: number[];
  readonly refused: number[];
  refusedWithoutRetryAfter: number;
  other: number;
  errors: number;
}

function summary(latencies: number[]): LatencySummary {
  const sorted = latencies.sort((a, b) => a - b);
  return { count: sorted.length, p50Ms: percentile(sorted, 50, 0), p99Ms: percentile(sorted, 99, 0), maxMs: sorted.at(-1) ?? 0 };
}

export async function runOverloadClient(spec: OverloadClientSpec): Promise<OverloadClientResult> {
  const tlsOptions = { host: spec.host, port: spec.port, ca: readFileSync(spec.caFile), cert: readFileSync(spec.certFile), key: readFileSync(spec.keyFile), servername: 'localhost' };
  const body = Buffer.from(spec.body);
  const request = Buffer.concat([
    Buffer.from(`POST ${spec.path} HTTP/1.1\r\nHost: ${spec.host}:${spec.port}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`, 'latin1'),
    body,
  ]);
  let t0 = performance.now();
  const buckets: Array<[number, number, number, number]> = [];
  const bucketOf = (at: number): [number, number, number, number] => {
    const index = Math.floor((at - t0) / spec.bucketMs);
    while (buckets.length <= index) buckets.push([0, 0, 0, 0]);
    return buckets[index] as [number, number, number, number];
  };
  const tallies = spec.phases.map((): PhaseTally => ({ accepted: [], refused: [], refusedWithoutRetryAfter: 0, other: 0, errors: 0 }));
  const phaseStarts: number[] = [];
  const phaseEnds: number[] = [];
  const offered: Array<number | null> = [];
  const backlogs: number[] = [];
  let phaseIndex = -1;
  let connectionsOpened = 0;

  interface Connection {
    readonly index: number;
    socket: TLSSocket | undefined;
    busy: boolean;
    /** When the request in flight was due (open) or sent (closed), and the phase it counts in. */
    dueAt: number;
    phaseOfRequest: number;
    lastSendAt: number;
    buffered: Buffer;
  }
  const connections: Connection[] = [];
  /** Open loop: due times of requests that found no idle connection, oldest first from `backlogHead`. */
  let backlog: number[] = [];
  let backlogHead = 0;
  /** Open loop: connections with nothing to send. */
  let idle: Connection[] = [];
  const pacedTimers = new Set<NodeJS.Timeout>();

  const phase = (): OverloadPhase | undefined => spec.phases[phaseIndex];
  const resolveRate = (rate: PhaseRate | undefined): number | null => {
    if (rate === undefined) return null;
    if (typeof rate === 'number') return rate;
    const source = spec.phases.findIndex((p) => p.name === rate.ofPhase);
    const tally = tallies[source];
    const duration = (phaseEnds[source] ?? 1) - (phaseStarts[source] ?? 0);
    return ((tally?.accepted.length ?? 0) / (duration / 1000)) * rate.factor;
  };

  const send = (connection: Connection, dueAt: number): void => {
    connection.busy = true;
    connection.dueAt = dueAt;
    connection.phaseOfRequest = phaseIndex;
    connection.lastSendAt = performance.now();
    connection.socket?.write(request);
  };

  /** What a connection does when it is free: its phase's next request, or nothing. */
  const next = (connection: Connection): void => {
    connection.busy = false;
    const current = phase();
    if (!current || !connection.socket) return;
    if (current.kind === 'open') {
      if (backlogHead < backlog.length) send(connection, backlog[backlogHead++] as number);
      else idle.push(connection);
      return;
    }
    if (connection.index >= current.connections) return;
    const rate = offered[phaseIndex] ?? null;
    const wait = rate === null ? 0 : connection.lastSendAt + (current.connections / rate) * 1000 - performance.now();
    if (wait <= 0) return send(connection, performance.now());
    connection.busy = true;
    const timer = setTimeout(() => {
      pacedTimers.delete(timer);
      send(connection, performance.now());
    }, wait);
    pacedTimers.add(timer);
  };

  const record = (connection: Connection, status: number, head: string): void => {
    const now = performance.now();
    const latency = now - connection.dueAt;
    const bucket = bucketOf(now);
    const tally = tallies[connection.phaseOfRequest];
    if (status === 202) {
      bucket[0] += 1;
      tally?.accepted.push(latency);
    } else if (status === 503) {
      bucket[1] += 1;
      tally?.refused.push(latency);
      if (tally && !/\r\nretry-after: *\d+/i.test(head)) tally.refusedWithoutRetryAfter += 1;
    } else {
      bucket[2] += 1;
      if (tally) tally.other += 1;
    }
  };

  const open = (connection: Connection): Promise<void> =>
    new Promise((resolve) => {
      connection.buffered = Buffer.alloc(0);
      const socket = connect(tlsOptions, () => {
        socket.setNoDelay(true);
        connectionsOpened += 1;
        resolve();
        next(connection);
      });
      connection.socket = socket;
      socket.on('data', (chunk: Buffer) => {
        connection.buffered = connection.buffered.length === 0 ? chunk : Buffer.concat([connection.buffered, chunk]);
        for (;;) {
          const end = connection.buffered.indexOf(HEAD_END);
          if (end < 0) return;
          const head = connection.buffered.subarray(0, end).toString('latin1');
          const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
          if (connection.buffered.length < end + 4 + length) return;
          record(connection, Number(head.slice(9, 12)), head);
          connection.buffered = connection.buffered.subarray(end + 4 + length);
          next(connection);
        }
      });
      socket.on('error', () => {
        bucketOf(performance.now())[3] += 1;
        const tally = tallies[connection.busy ? connection.phaseOfRequest : Math.max(0, phaseIndex)];
        if (tally) tally.errors += 1;
      });
      socket.on('close', () => {
        resolve();
        connection.socket = undefined;
        // The server closed the connection (or it broke): a host opens a new one, unless the run is over.
        if (phase()) void open(connection);
      });
    });

  /** Opens connections up to `count`, a few at a time (a burst of handshakes would be a load of its own). */
  const growTo = async (count: number): Promise<void> => {
    while (connections.length < count) {
      const batch = Array.from({ length: Math.min(32, count - connections.length) }, () => {
        const connection: Connection = { index: connections.length, socket: undefined, busy: false, dueAt: 0, phaseOfRequest: 0, lastSendAt: 0, buffered: Buffer.alloc(0) };
        connections.push(connection);
        return open(connection);
      });
      await Promise.all(batch);
    }
  };

  // Every connection is open before the clock starts: a burst of mTLS handshakes in the middle of
  // a phase would measure handshakes, and the hosts of a keep-alive load have connected long before.
  await growTo(Math.max(...spec.phases.map((p) => p.connections)));
  t0 = performance.now();
  const startedAtEpochMs = Date.now();
  for (const [index, current] of spec.phases.entries()) {
    phaseIndex = index;
    phaseStarts.push(performance.now() - t0);
    offered.push(resolveRate(current.rate));
    const endAt = performance.now() + current.durationMs;
    idle = [];
    if (current.kind === 'closed') {
      for (const connection of connections) if (!connection.busy) next(connection);
      await growTo(current.connections);
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, endAt - performance.now())));
    } else {
      const rate = offered[index] ?? 0;
      for (const connection of connections) if (!connection.busy) next(connection);
      const startedAt = performance.now();
      let issued = 0;
      let growing: Promise<void> | undefined;
      while (performance.now() < endAt) {
        const due = Math.floor(((performance.now() - startedAt) / 1000) * rate);
        for (; issued < due; issued += 1) {
          const dueAt = startedAt + (issued / rate) * 1000;
          let connection = idle.pop();
          while (connection && (connection.busy || !connection.socket)) connection = idle.pop();
          if (connection) send(connection, dueAt);
          else backlog.push(dueAt);
        }
        if (backlogHead < backlog.length && connections.length < current.connections && !growing) {
          growing = growTo(Math.min(current.connections, connections.length + 32)).finally(() => (growing = undefined));
        }
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    }
    phaseEnds.push(performance.now() - t0);
    backlogs.push(backlog.length - backlogHead);
    // Requests still waiting for a connection belong to the load that just ended.
    backlog = [];
    backlogHead = 0;
  }
  phaseIndex = spec.phases.length;
  for (const timer of pacedTimers) clearTimeout(timer);
  // Let the answers still on the wire arrive (they count in their phase), then hang up.
  const drainUntil = performance.now() + 5000;
  while (connections.some((c) => c.busy && c.socket) && performance.now() < drainUntil) await new Promise((resolve) => setTimeout(resolve, 10));
  for (const connection of connections) connection.socket?.destroy();

  return {
    bucketMs: spec.bucketMs,
    buckets,
    connectionsOpened,
    startedAtEpochMs,
    phases: spec.phases.map((p, i) => {
      const tally = tallies[i] as PhaseTally;
      return {
        name: p.name,
        kind: p.kind,
        startMs: phaseStarts[i] ?? 0,
        durationMs: (phaseEnds[i] ?? 0) - (phaseStarts[i] ?? 0),
        connections: p.connections,
        offeredPerSec: offered[i] ?? null,
        acceptedPerSec: tally.accepted.length / (((phaseEnds[i] ?? 0) - (phaseStarts[i] ?? 0)) / 1000),
        accepted: summary(tally.accepted),
        refused: summary(tally.refused),
        refusedWithoutRetryAfter: tally.refusedWithoutRetryAfter,
        other: tally.other,
        errors: tally.errors,
        backlogAtEnd: backlogs[i] ?? 0,
      };
    }),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await runOverloadClient(JSON.parse(process.argv[2] ?? '{}') as OverloadClientSpec);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
