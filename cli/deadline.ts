/**
 * `work`, or a rejection naming `what` once `ms` have passed. `onTimeout` runs first, to release
 * whatever the work holds (a connection still retrying), so the command can exit.
 */
export async function withDeadline<T>(what: string, ms: number, work: Promise<T>, onTimeout: () => Promise<void> = async () => undefined): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      void onTimeout()
        .catch(() => undefined)
        .finally(() => reject(new Error(`${what} did not answer within ${ms / 1000} s`)));
    }, ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
