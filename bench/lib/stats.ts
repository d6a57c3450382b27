/** The median of some readings (the mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/**
 * The nearest-rank percentile of an ascending list: the smallest reading with at least p % of the
 * readings at or below it (rank ceil(p/100 · n)). Every percentile the benchmarks compute themselves
 * uses this one rule (autocannon reports its own). `ifEmpty` is what an empty list gives.
 * @defaultValue ifEmpty NaN
 */
export function percentile(sorted: readonly number[], p: number, ifEmpty = Number.NaN): number {
  if (sorted.length === 0) return ifEmpty;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}
