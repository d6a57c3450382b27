/**
 * The stand-in Foreman of the registration benchmark, in a process of its own so that neither
 * the load generator nor the hub shares its event loop: `node --import tsx bench/foreman-server.ts`.
 * Prints `listening <url>` when ready; on SIGTERM prints `received <n>` (every request it got).
 */
import { TestForeman } from '../tests/helpers/test-foreman.ts';

const foreman = new TestForeman();
await foreman.start();
// The test helper records every request for assertions; a benchmark's tens of thousands would
// only grow the heap (and its GC pauses) over the run, so the record is dropped every second.
const trim = setInterval(() => foreman.requests.splice(0), 1000);
process.stdout.write(`listening ${foreman.url}\n`);
process.once('SIGTERM', () => {
  clearInterval(trim);
  process.stdout.write(`received ${foreman.received}\n`);
  void foreman.stop().then(() => process.exit(0));
});
