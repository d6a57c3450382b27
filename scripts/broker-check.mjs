// A broker self-check run before the hub or the tests start: declares and deletes one queue with
// the arguments proxyhub's work queues use. RabbitMQ 3.10.8 can lose the supervisor behind
// at-least-once dead-lettering (queues deleted right after a node boot); every such queue then
// fails with INTERNAL_ERROR until the node restarts. Reports that plainly, and restarts a local
// node when allowed to.
import { spawnSync } from 'node:child_process';

export async function brokerSupportsProxyhubQueues(url) {
  const { default: amqplib } = await import('amqplib');
  let connection;
  try {
    connection = await amqplib.connect(url);
    connection.on('error', () => undefined);
    const channel = await connection.createChannel();
    channel.on('error', () => undefined);
    const queue = `proxyhub-selfcheck-${process.pid}`;
    await channel.assertQueue(queue, {
      durable: true,
      arguments: { 'x-queue-type': 'quorum', 'x-dead-letter-exchange': '', 'x-dead-letter-strategy': 'at-least-once', 'x-overflow': 'reject-publish' },
    });
    await channel.deleteQueue(queue);
    return true;
  } catch (error) {
    process.stderr.write(`proxyhub setup: broker self-check failed: ${error.message}\n`);
    return false;
  } finally {
    await connection?.close().catch(() => undefined);
  }
}

export function restartLocalRabbit() {
  spawnSync('rabbitmqctl', ['shutdown'], { stdio: 'ignore', timeout: 60_000 });
  spawnSync('rabbitmq-server', ['-detached'], { stdio: 'ignore', timeout: 30_000 });
}
