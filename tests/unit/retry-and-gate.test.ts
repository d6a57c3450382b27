/**
 * Retry arithmetic (which delay tier an attempt waits in, which attempt a delivery is) and the
 * upstream gate that pauses every delivery after Foreman failed, with small real timings.
 */
import { performance } from 'node:perf_hooks';
import t from 'tap';
import { deliveryHeaders } from '../../contracts/delivery-headers.ts';
import { attemptOf, retryDelayFor } from '../../workers/runtime/dead-letters.ts';
import { UpstreamGate, type UpstreamGateOptions } from '../../workers/runtime/upstream-gate.ts';
import { holdsFor } from '../helpers/wait-for.ts';

const BASE_MS = 20;
const MAX_MS = 80;
/** Timers and Date.now() have millisecond resolution; allow that much early. */
const EARLY_MS = 2;

const makeGate = (overrides: Partial<UpstreamGateOptions> = {}): UpstreamGate => new UpstreamGate({ basePauseMs: BASE_MS, maxPauseMs: MAX_MS, ...overrides });

const open = (): AbortSignal => new AbortController().signal;

/** How long one pass() took, in ms. */
async function timePass(gate: UpstreamGate, signal: AbortSignal = open()): Promise<number> {
  const started = performance.now();
  await gate.pass(signal);
  return performance.now() - started;
}

/** A pass() whose settling can be inspected without awaiting it. */
function trackPass(gate: UpstreamGate, signal: AbortSignal = open()) {
  const state = { passed: false, error: undefined as unknown };
  const promise = gate.pass(signal).then(
    () => void (state.passed = true),
    (error: unknown) => void (state.error = error),
  );
  return { state, promise };
}

t.test('retryDelayFor walks the tiers once, then repeats the last', async (t) => {
  const tiers = [1000, 2000, 4000];
  t.equal(retryDelayFor(tiers, 2), 1000, 'the first retry (attempt 2) waits the first tier');
  t.equal(retryDelayFor(tiers, 3), 2000);
  t.equal(retryDelayFor(tiers, 4), 4000);
  t.equal(retryDelayFor(tiers, 5), 4000, 'past the list: the last tier repeats');
  t.equal(retryDelayFor(tiers, 1000), 4000);
  t.equal(retryDelayFor(tiers, 1), 1000, 'never before the first tier');
  t.equal(retryDelayFor([500], 7), 500, 'a single tier');
});

t.test('attemptOf reads the attempt header, defaulting to the first attempt', async (t) => {
  t.equal(deliveryHeaders.attempt, 'x-proxyhub-attempt', 'the header name is part of the wire format');
  t.equal(attemptOf({ headers: {} }), 1, 'no header: first attempt');
  t.equal(attemptOf({ headers: { [deliveryHeaders.attempt]: 3 } }), 3);
  t.equal(attemptOf({ headers: { [deliveryHeaders.attempt]: '4' } }), 4, 'a header that came back as a string');
  for (const bad of [0, -2, 2.5, 'abc', null]) t.equal(attemptOf({ headers: { [deliveryHeaders.attempt]: bad } }), 1, `${String(bad)} → 1`);
  t.equal(attemptOf({ headers: { 'x-delivery-count': 5 } }), 1, 'the broker count is not the attempt');
});

t.test('an open gate passes at once', async (t) => {
  const gate = makeGate();
  t.equal(gate.open, true);
  // Timing-free: an open gate settles before the next turn of the event loop, a paused one cannot.
  const nextTurn = new Promise<'waited'>((resolve) => setImmediate(() => resolve('waited')));
  const outcomes = await Promise.all([1, 2, 3].map(() => Promise.race([gate.pass(open()).then(() => 'passed' as const), nextTurn])));
  t.same(outcomes, ['passed', 'passed', 'passed'], 'all three passed without a pause');
});

t.test('after a failure a pass waits at least half the pause', async (t) => {
  const gate = makeGate();
  gate.failed();
  t.equal(gate.open, false);
  const elapsed = await timePass(gate);
  t.ok(elapsed >= BASE_MS / 2 - EARLY_MS, `waited ${elapsed.toFixed(1)} ms`);
  gate.succeeded();
  t.equal(gate.open, true, 'a success reopens the gate');
  t.ok((await timePass(gate)) < BASE_MS / 2, 'and passes at once again');
});

t.test('one probe passes; the others wait for its verdict', async (t) => {
  const gate = makeGate();
  gate.failed();
  const callers = [trackPass(gate), trackPass(gate), trackPass(gate)];
  await Promise.race(callers.map((c) => c.promise));
  t.ok(await holdsFor(() => callers.filter((c) => c.state.passed).length === 1, MAX_MS), 'exactly one probe, well after the pause');
  gate.succeeded();
  await Promise.all(callers.map((c) => c.promise));
  t.ok(callers.every((c) => c.state.passed), 'all pass once the probe succeeded');
});

t.test('pauses grow with each failure and are capped at maxPauseMs', async (t) => {
  const gate = makeGate();
  const waits: number[] = [];
  for (let failure = 1; failure <= 6; failure += 1) {
    gate.failed(); // the probe of the previous round failed too
    waits.push(await timePass(gate));
  }
  t.comment(`waits: ${waits.map((w) => w.toFixed(1)).join(', ')} ms`);
  const [first = 0, second = 0, third = 0] = waits;
  t.ok(first >= BASE_MS / 2 - EARLY_MS, 'first pause ≥ base/2');
  t.ok(second >= BASE_MS - EARLY_MS, 'second pause ≥ 2·base/2');
  t.ok(third >= 2 * BASE_MS - EARLY_MS, 'third pause ≥ 4·base/2');
  // Uncapped, the sixth pause would be at least 2^5·base/2 = 320 ms.
  for (const wait of waits.slice(3)) t.ok(wait >= MAX_MS / 2 - EARLY_MS && wait < 10 * MAX_MS, `capped: ${wait.toFixed(1)} ms`);
});

t.test('abandon() lets the next caller probe', async (t) => {
  const gate = makeGate();
  gate.failed();
  const probe = trackPass(gate);
  const waiting = trackPass(gate);
  await Promise.race([probe.promise, waiting.promise]);
  const [second] = [probe, waiting].filter((c) => !c.state.passed);
  t.ok(second, 'one caller still waits');
  gate.abandon();
  await second?.promise;
  t.equal(second?.state.passed, true, 'it becomes the probe');
  t.equal(gate.open, false, 'abandoning is no verdict: still paused');
  const third = trackPass(gate);
  t.ok(await holdsFor(() => !third.state.passed, MAX_MS), 'a third caller waits for the new probe');
  gate.succeeded();
  await third.promise;
  t.equal(third.state.passed, true);
});

t.test('an aborted signal rejects a waiting pass()', async (t) => {
  const gate = makeGate({ basePauseMs: 10_000, maxPauseMs: 10_000 });
  gate.failed();
  const controller = new AbortController();
  const waiter = trackPass(gate, controller.signal);
  t.ok(await holdsFor(() => !waiter.state.passed, 5, 1), 'still waiting out the pause');
  const reason = new Error('worker shutting down');
  controller.abort(reason);
  await waiter.promise;
  t.equal(waiter.state.error, reason, 'rejected with the abort reason, long before the pause ends');
  await t.rejects(gate.pass(controller.signal), reason, 'an already aborted signal rejects at once');
});

t.test('calls failing together lengthen the pause once, not once each', async (t) => {
  // With a long cap, counting all eleven failures would pause at least 500 ms; the first pause is ≤ 20 ms.
  const together = makeGate({ maxPauseMs: 1000 });
  together.failed(false);
  for (let i = 0; i < 10; i += 1) together.failed(false); // the rest of a burst of in-flight calls
  const afterBurst = await timePass(together);
  t.ok(afterBurst < 250, `a burst of failures still gives the first, short pause (${afterBurst.toFixed(1)} ms)`);
  const grown = makeGate({ maxPauseMs: 1000 });
  for (let i = 0; i < 6; i += 1) grown.failed(true); // six failed probes in a row: 20·2^5 = 640 ms
  const afterProbes = await timePass(grown);
  t.ok(afterProbes >= 320 - EARLY_MS, `failed probes do grow it (${afterProbes.toFixed(1)} ms)`);
});
