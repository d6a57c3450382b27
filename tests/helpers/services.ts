/**
 * Restarting the shared services for fault tests (tests/fault runs one file at a time, apart
 * from the parallel suite, so an outage here never fails another test).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { waitFor } from './wait-for.ts';
import { withChannel } from './hub-harness.ts';

const run = promisify(execFile);
let brokerStartedAt = 0;

/**
 * RabbitMQ 3.10.8 kills its at-least-once dead-letter supervisor (rabbit_fifo_dlx_sup) when
 * queues using that strategy are deleted in the first seconds after a node boot; every such
 * queue then fails with INTERNAL_ERROR until the next restart. Tests wait this long after a
 * restart before deleting their queues.
 */
const SETTLE_AFTER_BOOT_MS = 10_000;

export async function settleAfterRestart(): Promise<void> {
  const wait = brokerStartedAt + SETTLE_AFTER_BOOT_MS - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
}

async function brokerAnswers(): Promise<boolean> {
  try {
    await withChannel(async () => undefined);
    return true;
  } catch {
    return false;
  }
}

/** Stops the whole RabbitMQ node (as `rabbitmqctl shutdown` does on a host reboot). */
export async function stopBroker(): Promise<void> {
  await run('rabbitmqctl', ['shutdown'], { timeout: 60_000 });
}

/** Starts the node the way this machine's service manager does, and waits until AMQP answers. */
export async function startBroker(): Promise<void> {
  await run('rabbitmq-server', ['-detached'], { timeout: 30_000 }).catch(() => undefined);
  // `-detached` returns before the node boots; wait for AMQP itself rather than the CLI's view.
  await waitFor(brokerAnswers, { timeoutMs: 120_000, intervalMs: 250, what: 'RabbitMQ to accept connections' });
  brokerStartedAt = Date.now();
}

/** Safety net for teardown: whatever happened, leave the broker running for the next test. */
export async function ensureBrokerRunning(): Promise<void> {
  if (!(await brokerAnswers())) await startBroker();
}
