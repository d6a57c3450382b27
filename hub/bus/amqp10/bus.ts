/** The AMQP 1.0 transport (rhea), as hub/bus/transport-factory.ts hands it out. */
import type { BusTransport, EndpointOptions } from '../bus-transport.ts';
import { createLogger } from '../../log/logger.ts';
import { addressesFor, type AddressScheme } from './addresses.ts';
import { Amqp10Consumer } from './consumer.ts';
import { Amqp10Publisher } from './publisher.ts';
import { openAmqp10QueueBrowser } from './queue-browser.ts';
import { RabbitAdmin } from './rabbit-admin.ts';
import { Amqp10RpcClient } from './rpc-client.ts';

const silentLogger = createLogger('silent');

export function amqp10Transport(url: string, addressScheme: AddressScheme): BusTransport {
  const addresses = addressesFor(addressScheme);
  // Each endpoint gets its own side channel, opened on first use, closed with the endpoint.
  const admin = (o: EndpointOptions): { admin?: RabbitAdmin } => (addresses.isRabbitMq ? { admin: new RabbitAdmin({ url, name: `${o.name} (0-9-1 admin)`, logger: o.logger }) } : {});
  return {
    kind: 'amqp10',
    openQueueBrowser: () => openAmqp10QueueBrowser({ url, addresses, ...admin({ name: 'proxyhub-dead-letters', logger: silentLogger }) }),
    createPublisher: (o) => new Amqp10Publisher({ url, addresses, ...o, ...admin(o) }),
    createConsumer: (o) => new Amqp10Consumer({ url, addresses, ...o, ...admin(o) }),
    createRpcClient: (o) => new Amqp10RpcClient({ url, addresses, name: o.name, logger: o.logger, replyQueue: o.topology.replyQueue(o.clientId), ...admin(o) }),
  };
}
