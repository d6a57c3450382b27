type Truthy<T> = Exclude<T, false | null | undefined | 0 | ''>;

/** Polls until `check` returns a truthy value; no fixed sleeps in tests. */
export async function waitFor<T>(check: () => T | Promise<T>, options: { timeoutMs?: number; intervalMs?: number; what?: string } = {}): Promise<Truthy<T>> {
  const deadline = Date.now() + (options.timeoutMs ?? 15_000);
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await check();
    if (last) return last as Truthy<T>;
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 50));
  }
  throw new Error(`timed out waiting for ${options.what ?? 'condition'} (last value: ${JSON.stringify(last)})`);
}

/**
 * Checks that `check` stays true for `ms`: after a count first reaches its target, a late
 * duplicate would only show up later, so "exactly once" is asserted over a window.
 */
export async function holdsFor(check: () => boolean | Promise<boolean>, ms: number, intervalMs = 50): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (!(await check())) return false;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  return check();
}
