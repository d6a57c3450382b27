/**
 * amqplib hands each channel's frames to its socket one `write` at a time (one per publish, one
 * per ack), in a pass it schedules with setImmediate; every write is a syscall, and on loopback
 * the sending syscall also runs the receiving side's TCP work. Corking the socket until just
 * after that pass turns the frames of everything handled in this turn of the event loop into one
 * writev.
 */
import type { Socket } from 'node:net';
import type { Connection } from 'amqplib';

const corked = new WeakSet<Socket>();

/** Holds back this connection's writes until amqplib's next write pass has run. */
export function coalesceWrites(connection: Connection): void {
  // amqplib keeps its socket as an untyped field.
  const socket = (connection as unknown as { stream?: Socket }).stream;
  if (socket === undefined || socket.destroyed || corked.has(socket)) return;
  corked.add(socket);
  socket.cork();
  // amqplib's pass is scheduled (setImmediate) when its channel buffer turns readable, which
  // Node announces on the next tick: an immediate queued from the next tick runs after it.
  process.nextTick(() =>
    setImmediate(() => {
      corked.delete(socket);
      socket.uncork();
    }),
  );
}
