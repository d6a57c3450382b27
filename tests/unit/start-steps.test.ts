/**
 * The start's step tracker and the reverse closer, without a broker: a step that never settles is
 * abandoned at the deadline or on a stop, naming what it waited for; a close that never returns
 * cannot hold the shutdown past its deadline, and is named.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import t from 'tap';
import { closeInReverse } from '../../cli/closer.ts';
import { createStartSteps } from '../../cli/start-steps.ts';

function capturingLogger(): { logger: pino.Logger; lines: () => Array<Record<string, unknown>> } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, sink), lines: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

const never = (): Promise<never> => new Promise<never>(() => undefined);

t.test('a step that never settles is abandoned at the deadline, naming the queue being declared', async (t) => {
  const { logger, lines } = capturingLogger();
  const steps = createStartSteps({ logger, timeoutMs: 200 });
  t.teardown(() => steps.finish());
  const started = Date.now();
  const step = steps.run('the broker at amqp://127.0.0.1:5672/ (publisher connection)', () => {
    steps.note('declaring queue p.facts');
    return never();
  });
  await t.rejects(step, { code: 'PROXYHUB_START_TIMEOUT', message: /within 200 ms; still waiting for the broker at amqp:\/\/127\.0\.0\.1:5672\/ \(publisher connection\): declaring queue p\.facts/ });
  t.ok(Date.now() - started < 1000, 'at the deadline, not when the call returns');
  t.ok(lines().some((line) => line.level === 40 && /^still waiting for .*declaring queue p\.facts/.test(String(line.msg))), 'the wait was logged while it lasted');
  await t.rejects(steps.run('anything after', async () => 1), { code: 'PROXYHUB_START_TIMEOUT' }, 'an abandoned start runs no further step');
});

t.test('a stop signal abandons the start at once and names the signal', async (t) => {
  const { logger, lines } = capturingLogger();
  const stop = new AbortController();
  const steps = createStartSteps({ logger, timeoutMs: 60_000, stop: stop.signal });
  t.teardown(() => steps.finish());
  const step = steps.run('Redis at redis://127.0.0.1:6379 (REX job store)', never);
  stop.abort('SIGINT');
  await t.rejects(step, { code: 'PROXYHUB_START_INTERRUPTED', message: 'start interrupted by SIGINT while waiting for Redis at redis://127.0.0.1:6379 (REX job store)' });
  t.ok(lines().some((line) => line.code === 'PROXYHUB_START_INTERRUPTED' && line.signal === 'SIGINT'));
});

t.test('a finished start is not abandoned later', async (t) => {
  const { logger, lines } = capturingLogger();
  const steps = createStartSteps({ logger, timeoutMs: 50 });
  t.equal(await steps.run('a quick step', async () => 'done'), 'done');
  steps.finish();
  await new Promise((resolve) => setTimeout(resolve, 120));
  t.notOk(lines().some((line) => line.code === 'PROXYHUB_START_TIMEOUT'), 'no timeout after finish()');
});

t.test('closing in reverse order stops at the deadline and names the resource that hung', async (t) => {
  const { logger, lines } = capturingLogger();
  const closed: string[] = [];
  const closer = (name: string, close: () => Promise<unknown> = async () => closed.push(name)) => ({ name, close });
  const started = Date.now();
  const clean = await closeInReverse([closer('publisher'), closer('consumer', never), closer('listener')], logger, 200);
  t.equal(clean, false, 'reports that not everything closed');
  t.ok(Date.now() - started < 1000, 'within the deadline');
  t.same(closed, ['listener'], 'newest first, up to the one that hung');
  t.ok(lines().some((line) => line.resource === 'consumer' && line.level === 50), 'the log names the resource that did not close');
  t.equal(await closeInReverse([closer('a', async () => Promise.reject(new Error('boom'))), closer('b')], logger, 200), true, 'a failed close is logged and the rest still close');
});
