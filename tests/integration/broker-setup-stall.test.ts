/**
 * A broker that takes the connection and never answers the set-up (RabbitMQ 3.10's wedge) must
 * not leave a role hanging silently: the stalled set-up is logged as an error, again and again,
 * until it finishes. The stall is played by a set-up that never resolves, on the real broker.
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import t from 'tap';
import { openRecoveringConnection } from '../../hub/bus/amqp091/connection.ts';
import { AMQP_URL } from '../helpers/hub-harness.ts';
import { waitFor } from '../helpers/wait-for.ts';

t.test('a set-up that never finishes is logged as an error every patience period', async (t) => {
  const lines: Array<{ level: number; msg: string; waitedMs?: number }> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(line) as (typeof lines)[number]);
      done();
    },
  });
  const logger = pino({ level: 'info' }, sink);
  let release: () => void = () => undefined;
  const connection = await openRecoveringConnection({
    url: AMQP_URL,
    name: 'test setup stall',
    logger,
    setup: () => new Promise<void>((resolve) => (release = resolve)),
    onDisconnect: () => undefined,
    setupPatienceMs: 200,
  });
  const stalled = () => lines.filter((line) => line.msg.startsWith('broker set-up') && line.level === 50);
  await waitFor(() => stalled().length >= 2, { timeoutMs: 10_000, what: 'two stalled set-up errors' });
  t.ok((stalled()[1]?.waitedMs ?? 0) >= 400, 'each line says how long it has waited');
  release();
  await connection.waitForConnect();
  const after = stalled().length;
  await new Promise((resolve) => setTimeout(resolve, 600));
  t.equal(stalled().length, after, 'silent again once the set-up finished');
  await connection.close();
});
