import { randomBytes } from 'node:crypto';

/** A throw-away PROXYHUB_PREFIX for one benchmark scenario: its queues and exchanges are removed after it. */
export function benchPrefix(): string {
  return `bench-${randomBytes(4).toString('hex')}`;
}
