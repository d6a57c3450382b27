/**
 * One per ingress process: the bytes of request messages (registration and template bodies, REX
 * updates) held while a worker answers them. Each is small enough on its own (the route's body
 * limit); together, many slow answers would hold gigabytes. A request that does not fit is
 * refused before it is published, so a worker never sees work the ingress could not wait for.
 */
import { ProxyhubError } from '../../contracts/errors.ts';

export interface RpcByteBudget {
  /** Runs `call` holding `bytes` of the budget until it settles; refuses at once when they do not fit. */
  hold<T>(bytes: number, call: () => Promise<T>): Promise<T>;
  /** Bytes held now (for tests and logs). */
  readonly held: number;
}

export function createRpcByteBudget(maxBytes: number): RpcByteBudget {
  let held = 0;
  return {
    async hold(bytes, call) {
      if (held + bytes > maxBytes) {
        throw new ProxyhubError('PROXYHUB_RPC_INFLIGHT_LIMIT', `${held} of ${maxBytes} bytes of requests are already waiting for workers; this one needs ${bytes}`);
      }
      held += bytes;
      try {
        return await call();
      } finally {
        held -= bytes;
      }
    },
    get held() {
      return held;
    },
  };
}
