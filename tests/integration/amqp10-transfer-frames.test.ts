/**
 * rhea, imported as the hub imports it, sends its transfer frames through
 * hub/bus/amqp10/transfer-frames.ts once installed, and the broker takes what it writes: a
 * message sent over AMQP 1.0 to a queue comes back whole over AMQP 0-9-1. If a rhea release
 * stopped calling the replaced function, the count would not move and this would fail.
 */
import { randomUUID } from 'node:crypto';
import rhea, { type EventContext } from 'rhea';
import t from 'tap';
import { installTransferFrames, transferFramesWritten } from '../../hub/bus/amqp10/transfer-frames.ts';
import { AMQP_URL, withChannel } from '../helpers/hub-harness.ts';

const queue = `test-transfer-frames-${randomUUID().slice(0, 8)}`;
await withChannel(async (channel) => {
  await channel.assertQueue(queue, { durable: false });
});
t.teardown(() => withChannel(async (channel) => void (await channel.deleteQueue(queue))));

t.test('a message sent over AMQP 1.0 goes through the transfer writer and arrives whole', async (t) => {
  installTransferFrames();
  const url = new URL(AMQP_URL);
  const body = Buffer.alloc(1300, 'x');
  const before = transferFramesWritten();
  const connection = rhea.connect({ host: url.hostname, port: Number(url.port || 5672), username: 'guest', password: 'guest', reconnect: false });
  try {
    const sender = connection.open_sender({ target: { address: `/amq/queue/${queue}` } });
    await new Promise<void>((resolve, reject) => {
      sender.once('sendable', () => {
        sender.send({ body: rhea.message.data_section(body) as unknown, message_id: 'transfer-frames' });
      });
      sender.once('accepted', () => resolve());
      sender.once('rejected', (context: EventContext) => reject(new Error(`rejected: ${JSON.stringify(context.delivery?.remote_state)}`)));
      connection.once('connection_error', (context: EventContext) => reject(context.error ?? new Error('connection error')));
    });
  } finally {
    connection.close();
  }
  t.equal(transferFramesWritten() - before, 1, 'one transfer frame, written by the transfer writer');
  const got = await withChannel(async (channel) => channel.get(queue, { noAck: true }));
  t.ok(got, 'the broker queued it');
  if (got) t.ok(got.content.equals(body), 'with the whole body');
});
