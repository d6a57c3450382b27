/**
 * A closed-loop HTTP/1.1 load client, run as its own process so that it never shares an event
 * loop with the hub under test: `node --import tsx tests/helpers/closed-loop-client.ts '<json>'`.
 * Each keep-alive connection sends the next request as soon as the previous answer arrived and
 * ignores Retry-After (the worst client there is). It prints one JSON line: what every status
 * got, with latency percentiles, so a test can tell fast refusals from slow ones.
 */
import { connect, type Socket } from 'node:net';
import type { ClosedLoopResult, ClosedLoopSpec, StatusSummary } from './closed-loop.ts';

const spec = JSON.parse(process.argv[2] ?? '{}') as ClosedLoopSpec;
const body = Buffer.from(spec.body);
const request = Buffer.concat([
  Buffer.from(`${spec.method} ${spec.path} HTTP/1.1\r\nHost: ${spec.host}:${spec.port}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`, 'latin1'),
  body,
]);
const HEAD_END = Buffer.from('\r\n\r\n');

interface Tally {
  readonly latencies: number[];
  withRetryAfter: number;
  overloadedCode: number;
}
const tallies = new Map<number, Tally>();
let errors = 0;
let reconnects = 0;
const stopAt = performance.now() + spec.durationMs;

function record(status: number, latency: number, head: string, responseBody: Buffer): void {
  let tally = tallies.get(status);
  if (!tally) tallies.set(status, (tally = { latencies: [], withRetryAfter: 0, overloadedCode: 0 }));
  tally.latencies.push(latency);
  if (/\r\nretry-after: *\d+/i.test(head)) tally.withRetryAfter += 1;
  if (responseBody.includes('"PROXYHUB_OVERLOADED"')) tally.overloadedCode += 1;
}

/** One connection: send, read one whole answer, send again, until the run is over. */
function runConnection(): Promise<void> {
  return new Promise((resolve) => {
    let socket: Socket;
    let buffered: Buffer = Buffer.alloc(0);
    let sentAt = 0;
    const send = (): void => {
      if (performance.now() >= stopAt) {
        socket.end();
        resolve();
        return;
      }
      sentAt = performance.now();
      socket.write(request);
    };
    const open = (): void => {
      buffered = Buffer.alloc(0);
      socket = connect({ host: spec.host, port: spec.port }, send);
      socket.setNoDelay(true);
      socket.on('data', (chunk: Buffer) => {
        buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
        const end = buffered.indexOf(HEAD_END);
        if (end < 0) return;
        const head = buffered.subarray(0, end).toString('latin1');
        const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        if (buffered.length < end + 4 + length) return;
        const status = Number(head.slice(9, 12));
        record(status, performance.now() - sentAt, head, buffered.subarray(end + 4, end + 4 + length));
        buffered = buffered.subarray(end + 4 + length);
        send();
      });
      socket.on('error', () => {
        errors += 1;
      });
      socket.on('close', () => {
        if (performance.now() >= stopAt) return resolve();
        // The server closed a keep-alive connection: a real client reconnects.
        reconnects += 1;
        open();
      });
    };
    open();
  });
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0;
}

const startedAt = performance.now();
await Promise.all(Array.from({ length: spec.connections }, runConnection));
const seconds = (performance.now() - startedAt) / 1000;
const byStatus: Record<string, StatusSummary> = {};
for (const [status, tally] of tallies) {
  const sorted = tally.latencies.sort((a, b) => a - b);
  byStatus[String(status)] = {
    count: sorted.length,
    perSec: sorted.length / seconds,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    maxMs: sorted.at(-1) ?? 0,
    withRetryAfter: tally.withRetryAfter,
    overloadedCode: tally.overloadedCode,
  };
}
const result: ClosedLoopResult = { seconds, byStatus, errors, reconnects };
process.stdout.write(`${JSON.stringify(result)}\n`);
