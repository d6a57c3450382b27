/**
 * A benchmark's look inside the ingress's event loop, loaded into the hub's processes with
 * `node --import` (NODE_OPTIONS) when BENCH_LOOP_TRACE_FILE names a file: plain JavaScript, since
 * the hub runs its compiled build without a TypeScript loader. It acts only in a process whose
 * command line has the ingress role, and in those with requests to serve.
 *
 * A turn is one pass of the event loop that handled HTTP requests: it starts at the first request
 * the pass hands to a handler and ends in the same pass's check phase (a setImmediate queued by
 * that first request). A request that arrives just after a turn began waits for all of it, so
 * the turn's length is a lower bound of the wait a new request can meet before the hub reads it
 * (the poll phase's work before the first request, handshakes and broker frames, and the timers
 * phase come on top). The hook queues work only when a request came, plus one report a second,
 * so it never keeps an idle loop turning and the CPU figures stay the hub's.
 *
 * Once a second each process appends one JSON line covering the time since the last:
 * `{ pid, sinceEpochMs, atEpochMs, turns, requests, turnMsSum, turnMsMax, turnMsP99 }`. With
 * fewer than 100 turns in a second, its p99 is its slowest turn.
 */
import { appendFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { setImmediate } from 'node:timers';
import { Server as TlsServer } from 'node:tls';
import { Server as HttpServer } from 'node:http';

const file = process.env.BENCH_LOOP_TRACE_FILE;
const isIngress = process.argv.some((argument, index) => argument === 'ingress' && process.argv[index - 1] === '--role');

if (file && isIngress) {
  /** Lengths (ms) of this second's turns, and the requests they handled. */
  let turnLengths = [];
  let requests = 0;
  let turnStart = -1;
  let since = Date.now();
  const endTurn = () => {
    turnLengths.push(performance.now() - turnStart);
    turnStart = -1;
  };
  const onRequest = () => {
    requests += 1;
    if (turnStart >= 0) return;
    turnStart = performance.now();
    setImmediate(endTurn);
  };
  // Counted at the server's own emit, before any listener (the hub's shedding included) runs.
  for (const ServerClass of [TlsServer, HttpServer]) {
    const emit = ServerClass.prototype.emit;
    ServerClass.prototype.emit = function tracedEmit(event, ...args) {
      if (event === 'request') onRequest();
      return emit.call(this, event, ...args);
    };
  }
  setInterval(() => {
    const now = Date.now();
    const sinceEpochMs = since;
    since = now;
    if (turnLengths.length === 0) return;
    const sorted = turnLengths.sort((a, b) => a - b);
    const line = {
      pid: process.pid,
      sinceEpochMs,
      atEpochMs: now,
      turns: sorted.length,
      requests,
      turnMsSum: sorted.reduce((sum, length) => sum + length, 0),
      turnMsMax: sorted[sorted.length - 1],
      turnMsP99: sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))],
    };
    turnLengths = [];
    requests = 0;
    appendFileSync(file, `${JSON.stringify(line)}\n`);
  }, 1000).unref();
}
