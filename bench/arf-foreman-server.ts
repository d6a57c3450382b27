/**
 * The stand-in Foreman of the OpenSCAP benchmark: `node --import tsx bench/arf-foreman-server.ts
 * '<json expected>'`. It answers `POST /api/v2/compliance/arf_reports/:cname/:policy_id/:date`
 * as Foreman does, 200 `{"result":"ok","id":"<n>"}`, and nothing else, so that the worker is the
 * only thing measured (tests/helpers/test-foreman.ts keeps every request for assertions, which a
 * benchmark does not need).
 *
 * Every report is still checked against the fixture's expected reading (metrics and log count),
 * so a fast but wrong worker cannot pass. Prints `listening <url>` when ready, then one line per
 * report, `arf <n> ok` or `arf <n> wrong <why>`, which is how the benchmark counts deliveries.
 */
import { createServer } from 'node:http';

interface Expected {
  readonly metrics: { readonly passed: number; readonly failed: number; readonly othered: number };
  readonly logs: number;
}

const expected = JSON.parse(process.argv[2] ?? '{}') as Expected;
const ARF_PATH = /^\/api\/v2\/compliance\/arf_reports\/[^/]+\/\d+\/\d+$/;
let delivered = 0;

/** Why a report does not read as the fixture does, or undefined when it does. */
function wrongness(raw: string): string | undefined {
  let report: { metrics?: Expected['metrics']; logs?: unknown };
  try {
    report = JSON.parse(raw) as typeof report;
  } catch {
    return 'not JSON';
  }
  const m = report.metrics;
  if (m?.passed !== expected.metrics.passed || m.failed !== expected.metrics.failed || m.othered !== expected.metrics.othered) return `metrics ${JSON.stringify(m)}`;
  if (!Array.isArray(report.logs) || report.logs.length !== expected.logs) return `${Array.isArray(report.logs) ? report.logs.length : 'no'} logs`;
  return undefined;
}

const FACTS_PATH = /^\/api(\/v2)?\/hosts\/facts$/;

const server = createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    const path = (request.url ?? '/').split('?')[0] ?? '/';
    if (request.method === 'POST' && FACTS_PATH.test(path)) {
      // The co-located benchmark's facts load: taken, as Foreman's facts import answers.
      response.writeHead(201, { 'content-type': 'application/json', 'content-length': 2 });
      response.end('{}');
      return;
    }
    if (request.method !== 'POST' || !ARF_PATH.test(path)) {
      response.writeHead(404, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ error: { message: `no route ${request.method} ${path}` } }));
      return;
    }
    delivered += 1;
    // Always 200: a refused report would be dead-lettered and the queue would never drain; the
    // benchmark fails the run on any `wrong` line instead.
    const why = wrongness(Buffer.concat(chunks).toString('utf8'));
    const answer = JSON.stringify({ result: 'ok', id: String(delivered) });
    response.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(answer) });
    response.end(answer);
    process.stdout.write(`arf ${delivered} ${why === undefined ? 'ok' : `wrong ${why}`}\n`);
  });
});
// Longer than undici's keep-alive, so the worker's connection is never cut while idle.
server.keepAliveTimeout = 72_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`listening http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}\n`);
});
process.once('SIGTERM', () => {
  process.stdout.write(`received ${delivered}\n`);
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
