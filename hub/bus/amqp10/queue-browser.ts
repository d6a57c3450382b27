/**
 * Dead-letter browsing over AMQP 1.0, for deployments on the amqp10 transport: the workers wrote
 * the reasons as application properties, which RabbitMQ 3.x does not show to 0-9-1 readers, so
 * the dead letters are read with the protocol that wrote them. One credit per take, nothing
 * settled until the operator's tool acks, and everything taken goes back when the browser closes.
 */
import rhea, { type Connection, type EventContext, type Receiver } from 'rhea';
import type { Addresses } from './addresses.ts';
import { connectToAny } from '../broker-urls.ts';
import { asError, closeConnection, connectionOptionsFrom, openReceiver, openSenderTo } from './connection.ts';
import { receivedFields } from './message.ts';
import { STANDARD_FORMAT, encodeMessage } from './message-bytes.ts';
import type { RabbitAdmin } from './rabbit-admin.ts';
import { SenderLinks } from './sender-links.ts';
import type { BrowsedMessage, OutgoingMessage, QueueBrowser } from '../transport.ts';

/** With no message count to ask for (brokers other than RabbitMQ), an empty queue is this long a silence. */
const TAKE_WAIT_MS = 2000;

function connect(url: string, addresses: Addresses): Promise<Connection> {
  return new Promise((resolve, reject) => {
    const connection = rhea.create_container({ id: 'proxyhub-dead-letters' }).connect(connectionOptionsFrom(url, addresses.scheme, 'proxyhub-dead-letters'));
    connection.once('connection_open', () => resolve(connection));
    connection.once('disconnected', (context: EventContext) => reject(asError(context.error, 'cannot connect to the broker')));
    // The operations' own promises reject; these keep rhea from throwing on unhandled events.
    for (const event of ['error', 'connection_error', 'session_error', 'sender_error', 'receiver_error']) connection.on(event, () => undefined);
  });
}

export async function openAmqp10QueueBrowser(options: { readonly url: string; readonly addresses: Addresses; readonly admin?: RabbitAdmin }): Promise<QueueBrowser> {
  const { addresses, admin } = options;
  const connection = await connectToAny(options.url, (node) => connect(node, addresses));
  const receivers = new Map<string, Receiver>();
  const senders = new SenderLinks();

  async function exists(queue: string): Promise<{ messageCount: number } | undefined> {
    if (!admin) return { messageCount: Number.POSITIVE_INFINITY };
    return admin.queueInfo(queue);
  }

  async function receiverFor(queue: string): Promise<Receiver> {
    let receiver = receivers.get(queue);
    if (!receiver) {
      receiver = await openReceiver(connection, { source: { address: addresses.queue(queue) }, autoaccept: false, credit_window: 0 });
      receivers.set(queue, receiver);
    }
    return receiver;
  }

  return {
    async take(queue) {
      const info = await exists(queue);
      if (info === undefined) throw new Error(`queue ${queue} does not exist: no proxyhub process has declared it under this prefix yet`);
      // Ready messages only: the ones this browser holds unsettled are not counted.
      if (info.messageCount === 0) return null;
      const receiver = await receiverFor(queue);
      return new Promise<BrowsedMessage | null>((resolve) => {
        const timer = setTimeout(() => {
          receiver.removeListener('message', onMessage);
          resolve(null);
        }, TAKE_WAIT_MS);
        const onMessage = (context: EventContext): void => {
          const { delivery, message } = context;
          if (!delivery || !message) return;
          clearTimeout(timer);
          receiver.removeListener('message', onMessage);
          const fields = receivedFields(message, addresses);
          let settled = false;
          const once = (action: () => void) => (): void => {
            if (settled) return;
            settled = true;
            action();
          };
          resolve({
            delivery: { ...fields, ack: once(() => delivery.accept()), requeue: once(() => delivery.release()) },
            properties: { ...(fields.timestamp === undefined ? {} : { timestamp: fields.timestamp }), ...(fields.contentType === undefined ? {} : { contentType: fields.contentType }) },
          });
        };
        receiver.on('message', onMessage);
        receiver.add_credit(1);
      });
    },
    async messageCount(queue) {
      if (!admin) throw new Error('this broker cannot report queue depths over AMQP 1.0');
      const info = await admin.queueInfo(queue);
      if (info === undefined) throw new Error(`queue ${queue} does not exist: no proxyhub process has declared it under this prefix yet`);
      return info.messageCount;
    },
    async publish(message: OutgoingMessage) {
      const address = addresses.target(message.exchange, message.routingKey);
      const link = await senders.get(address, async () => {
        if (admin && message.exchange === '' && (await admin.queueInfo(message.routingKey)) === undefined) throw new Error(`no queue accepted ${message.routingKey}`);
        return openSenderTo(connection, address);
      });
      await new Promise<void>((resolve, reject) => {
        const delivery = link.send(encodeMessage(message), undefined, STANDARD_FORMAT);
        const onOutcome = (outcome: string) => (context: EventContext): void => {
          if (context.delivery !== delivery) return;
          for (const [event, listener] of listeners) link.removeListener(event, listener);
          if (outcome === 'accepted') resolve();
          else reject(new Error(`the broker ${outcome} the message`));
        };
        const listeners = (['accepted', 'released', 'rejected', 'modified'] as const).map((outcome) => [outcome, onOutcome(outcome)] as const);
        for (const [event, listener] of listeners) link.on(event, listener);
      });
    },
    async close() {
      await closeConnection(connection);
      await admin?.close();
    },
  };
}
