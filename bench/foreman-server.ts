/**
 * The stand-in Foreman of the registration benchmark, in a process of its own so that neither
 * the load generator nor the hub shares its event loop: `node --import tsx bench/foreman-server.ts
 * [--counts]`. Prints `listening <url>` when ready; on SIGTERM prints `received <n>` (every
 * request it got). With `--counts` (the soak) it also prints, every second, `counts <json>`: the
 * deliveries it answered 2xx so far by kind (facts, host reports, ARF reports, REX callbacks).
 */
import { TestForeman, type RecordedRequest } from '../tests/helpers/test-foreman.ts';

export interface DeliveryCounts {
  facts: number;
  reports: number;
  arf: number;
  /** One per job: a batched callback request counts each job it carries. */
  callbacks: number;
}

/** Which kind of delivery a request to Foreman is, or undefined for anything else (refresh, registration…). */
function kindOf(request: RecordedRequest): keyof DeliveryCounts | undefined {
  if (request.path === '/api/v2/hosts/facts' || request.path === '/api/hosts/facts') return 'facts';
  if (request.path === '/api/v2/host_reports') return 'reports';
  if (request.path.startsWith('/api/v2/compliance/arf_reports/')) return 'arf';
  if (request.path === '/foreman_tasks/api/tasks/callback') return 'callbacks';
  return undefined;
}

const foreman = new TestForeman();
await foreman.start();
const counting = process.argv.includes('--counts');
const counts: DeliveryCounts = { facts: 0, reports: 0, arf: 0, callbacks: 0 };
// The test helper records every request for assertions; a benchmark's tens of thousands would
// only grow the heap (and its GC pauses) over the run, so the record is dropped every second
// (counted first when asked).
const trim = setInterval(() => {
  for (const request of foreman.requests.splice(0)) {
    const kind = kindOf(request);
    if (kind === undefined || request.status < 200 || request.status >= 300) continue;
    const batch = (request.body as { callbacks?: unknown[] } | undefined)?.callbacks;
    counts[kind] += kind === 'callbacks' && Array.isArray(batch) ? batch.length : 1;
  }
  foreman.rawUrls.splice(0);
  if (counting) process.stdout.write(`counts ${JSON.stringify(counts)}\n`);
}, 1000);
process.stdout.write(`listening ${foreman.url}\n`);
process.once('SIGTERM', () => {
  clearInterval(trim);
  process.stdout.write(`received ${foreman.received}\n`);
  void foreman.stop().then(() => process.exit(0));
});
