/**
 * The RPC requests waiting for their reply, by correlation id, for both transports' RPC clients:
 * each is answered by its reply, by a refusal, by its timeout, or at once with everything else
 * when the connection goes (a client must never wait out its own timeout for a reply that
 * cannot come).
 */
import { ProxyhubError } from '../../contracts/errors.ts';

interface Waiting {
  resolve(body: Buffer): void;
  reject(error: ProxyhubError): void;
  timer: NodeJS.Timeout;
}

export class PendingReplies {
  readonly #waiting = new Map<string, Waiting>();

  /**
   * Waits for the reply to `correlationId` for at most `timeoutMs`. `send` writes the request once
   * the wait is registered (a reply cannot overtake it); if it throws, the link or channel closed
   * between the caller's check and the write, and the request fails as unavailable (`closedReason`).
   */
  wait(correlationId: string, timeoutMs: number, send: () => void, closedReason: string): Promise<Buffer> {
    return new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(correlationId);
        reject(new ProxyhubError('PROXYHUB_RPC_TIMEOUT', `no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiting.set(correlationId, { resolve, reject, timer });
      try {
        send();
      } catch (error) {
        clearTimeout(timer);
        this.#waiting.delete(correlationId);
        reject(new ProxyhubError('PROXYHUB_BUS_UNAVAILABLE', closedReason, { cause: error }));
      }
    });
  }

  /** The reply (or the broker's refusal) for one request; unknown or late ids are ignored. */
  settle(correlationId: string, outcome: Buffer | ProxyhubError): void {
    const waiting = this.#waiting.get(correlationId);
    if (!waiting) return;
    this.#waiting.delete(correlationId);
    clearTimeout(waiting.timer);
    if (outcome instanceof ProxyhubError) waiting.reject(outcome);
    else waiting.resolve(outcome);
  }

  failAll(reason: string): void {
    for (const [id, waiting] of this.#waiting) {
      clearTimeout(waiting.timer);
      waiting.reject(new ProxyhubError('PROXYHUB_BUS_UNAVAILABLE', reason));
      this.#waiting.delete(id);
    }
  }
}
