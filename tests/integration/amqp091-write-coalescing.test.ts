/**
 * amqplib writes each frame to its socket on its own; the publisher corks the socket until
 * amqplib has handed it the frames of the current turn of the event loop
 * (hub/bus/amqp091/write-coalescing.ts), so a burst of publishes leaves in one writev. Counted
 * here at the socket's own write methods, against the real broker, with and without.
 */
import type { Socket } from 'node:net';
import amqplib from 'amqplib';
import t from 'tap';
import { coalesceWrites } from '../../hub/bus/amqp091/write-coalescing.ts';
import { AMQP_URL } from '../helpers/hub-harness.ts';

const BURST = 20;

/** Publishes BURST messages in one turn and counts the socket writes that carried them, once all are confirmed. */
async function burstWrites(coalesce: boolean): Promise<number> {
  const model = await amqplib.connect(AMQP_URL);
  try {
    const channel = await model.createConfirmChannel();
    const socket = (model.connection as unknown as { stream: Socket & { _write: (...args: unknown[]) => void; _writev: (...args: unknown[]) => void } }).stream;
    let writes = 0;
    const [write, writev] = [socket._write.bind(socket), socket._writev.bind(socket)];
    socket._write = (...args) => {
      writes += 1;
      write(...args);
    };
    socket._writev = (...args) => {
      writes += 1;
      writev(...args);
    };
    const confirmed = Array.from({ length: BURST }, (_, i) => {
      const done = new Promise<void>((resolve, reject) => channel.publish('', 'proxyhub-test-no-such-queue', Buffer.from(`message ${i}`), {}, (error: Error | null) => (error ? reject(error) : resolve())));
      if (coalesce) coalesceWrites(model);
      return done;
    });
    await Promise.all(confirmed);
    return writes;
  } finally {
    await model.close();
  }
}

t.test('a burst of publishes leaves in one write instead of one per message', async (t) => {
  const alone = await burstWrites(false);
  const coalesced = await burstWrites(true);
  t.ok(alone >= BURST, `without: ${alone} writes for ${BURST} messages`);
  t.ok(coalesced <= 2, `with: ${coalesced} writes for ${BURST} messages`);
});
