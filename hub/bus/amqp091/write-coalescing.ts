/**
 * amqplib hands its frames to the socket from a setImmediate (its multiplexer reads every
 * channel's buffer in the event loop's check phase), but one write(2) per frame: on a busy
 * ingress one syscall per upload, and on loopback the sending syscall also runs the receiving
 * side's TCP work. Corking the socket until just after that read bundles the frames of every
 * publish of the current turn into one writev.
 *
 * The order is what makes it work: a publish writes into the channel's buffer, whose 'readable'
 * comes on the next tick and schedules the multiplexer's setImmediate; the uncork is scheduled
 * from a tick queued after that one, so it runs right after the multiplexer's writes, in the same
 * check phase. Should amqplib ever order it otherwise, the frames go out uncorked, as before,
 * and never later than the same check phase.
 */
import type { Socket } from 'node:net';
import type { ChannelModel } from 'amqplib';

const corked = new WeakSet<Socket>();

/** Holds back this connection's writes until amqplib has handed it this turn's frames. */
export function coalesceWrites(model: ChannelModel): void {
  // amqplib keeps its socket as an untyped field of the connection (`stream`).
  const socket = (model.connection as unknown as { stream?: Socket }).stream;
  if (socket === undefined || socket.destroyed || corked.has(socket)) return;
  corked.add(socket);
  socket.cork();
  process.nextTick(() =>
    setImmediate(() => {
      corked.delete(socket);
      socket.uncork();
    }),
  );
}
