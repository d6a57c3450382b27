import type { Delivery, DeliveryHandler } from '../../hub/bus/transport.ts';

/** Deliveries being handled, so that close() can wait for them. */
export interface InFlight {
  /** Wraps a handler so every delivery it handles is tracked until it settles. */
  track(handler: (delivery: Delivery) => Promise<void>): DeliveryHandler;
  /** Resolves when every tracked delivery has settled. */
  settled(): Promise<void>;
}

export function createInFlight(): InFlight {
  const tasks = new Set<Promise<void>>();
  return {
    track: (handler) => (delivery) => {
      const task = handler(delivery).finally(() => tasks.delete(task));
      tasks.add(task);
      return task;
    },
    settled: async () => {
      await Promise.allSettled([...tasks]);
    },
  };
}
