// Whether the broker speaks AMQP 1.0 on its AMQP port, and turning RabbitMQ's AMQP 1.0 plugin on
// when it does not (Debian's package ships the plugin disabled on some installs). Asked on the
// wire rather than through rabbitmq-plugins, so it also answers for a broker on another host.
import { spawnSync } from 'node:child_process';
import { connect } from 'node:net';

// The AMQP 1.0 SASL protocol header. A broker without AMQP 1.0 answers with its own (0-9-1) header.
const AMQP10_SASL_HEADER = Buffer.from([0x41, 0x4d, 0x51, 0x50, 0x03, 0x01, 0x00, 0x00]);

export function brokerSpeaksAmqp10(url) {
  const parsed = new URL(url.replace(/^amqp10/, 'amqp'));
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  const port = Number(parsed.port || (parsed.protocol === 'amqps:' ? 5671 : 5672));
  // TLS brokers cannot be probed in clear; assume the operator configured them.
  if (parsed.protocol === 'amqps:') return Promise.resolve(true);
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 3000 }, () => socket.write(AMQP10_SASL_HEADER));
    socket.once('data', (chunk) => {
      socket.destroy();
      resolve(chunk.length >= 8 && chunk.subarray(0, 8).equals(AMQP10_SASL_HEADER));
    });
    socket.on('error', () => resolve(false));
    socket.on('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

/** Enables the plugin on the local node; it starts at once, without a broker restart. */
export function enableLocalAmqp10Plugin() {
  return spawnSync('rabbitmq-plugins', ['enable', 'rabbitmq_amqp1_0'], { stdio: 'ignore', timeout: 120_000 }).status === 0;
}
