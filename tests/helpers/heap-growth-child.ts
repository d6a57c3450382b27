/**
 * Run by tests/unit/listener-heap.test.ts in a process of its own (the V8 flag is process-wide):
 * caps the heap growth by argv[2] percent (0: left to V8), then allocates like a busy ingress,
 * objects that outlive a few young collections and then die, and prints the old generation's
 * largest size in MiB.
 */
import { getHeapSpaceStatistics } from 'node:v8';
import { capHeapGrowth } from '../../cli/listener-heap.ts';

const percent = Number(process.argv[2]);
const capped = capHeapGrowth(percent);
const MiB = 2 ** 20;
const oldSpaceMiB = (): number => (getHeapSpaceStatistics().find((s) => s.space_name === 'old_space')?.space_size ?? 0) / MiB;

/** About 24 KiB of small objects, like one request's. */
const request = (n: number): Array<{ n: number; s: string; a: number[] }> => Array.from({ length: 256 }, (_, i) => ({ n: n + i, s: `request ${n} part ${i}`, a: [n, i, n ^ i] }));

// A window of requests in flight: each lives for 400 allocations, long enough to be promoted.
const inFlight = Array.from({ length: 400 }, (): ReturnType<typeof request> => []);
let peak = 0;
for (let n = 0; n < 20_000; n++) {
  inFlight[n % inFlight.length] = request(n);
  if (n % 100 === 0) peak = Math.max(peak, oldSpaceMiB());
}
process.stdout.write(`${JSON.stringify({ capped, peakMiB: peak })}\n`);
