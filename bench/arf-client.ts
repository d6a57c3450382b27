/**
 * The OpenSCAP upload load generator, in a process of its own so it never shares an event loop
 * with the hub: `node --import tsx bench/arf-client.ts '<json UploadSpec>'`. Each client is
 * foreman_scap_client on one host: one keep-alive mTLS connection (its own undici Agent), the
 * same bzip2 ARF posted again as soon as the previous one is answered, or, with `ratePerSec`,
 * once its share of that rate allows. autocannon cannot present a client certificate, hence this
 * client; with other headers and body it uploads facts or reports just the same.
 *
 * Reports on stdout as JSON lines: `measuring` when the measured window starts (the parent starts
 * sampling then), `progress` during a count run, `interval` every `intervalMs` when asked, then
 * `result`.
 */
import { readFileSync } from 'node:fs';
import { Agent, request } from 'undici';
import type { UploadResult, UploadSpec } from './lib/arf-load.ts';
import { summarize } from './lib/sequential.ts';

const spec = JSON.parse(process.argv[2] ?? '{}') as UploadSpec;
const send = (message: Record<string, unknown>): void => void process.stdout.write(`${JSON.stringify(message)}\n`);
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const body = readFileSync(spec.bodyFile);
const tls = { ca: readFileSync(spec.caFile), cert: readFileSync(spec.certFile), key: readFileSync(spec.keyFile) };
// What foreman_scap_client sends: the report as XML, compressed with bzip2.
const headers = spec.headers ?? { 'content-type': 'text/xml', 'content-encoding': 'x-bzip2' };

let connectionsOpened = 0;
const urls = spec.urls?.length ? spec.urls : [spec.url];
/** Each client's send interval when paced: together they offer `ratePerSec`. */
const pacingMs = spec.ratePerSec === undefined ? 0 : (spec.connections / spec.ratePerSec) * 1000;
const agents = Array.from({ length: spec.connections }, () => {
  const agent = new Agent({ connections: 1, pipelining: 1, keepAliveTimeout: 120_000, connect: tls });
  agent.on('connect', () => (connectionsOpened += 1));
  return agent;
});

/** Only answers that complete inside [from, to) count; a count run's window is the whole run. */
const window = { from: Number.POSITIVE_INFINITY, to: Number.POSITIVE_INFINITY };
const latencies: number[] = [];
const statusCodes: Record<string, number> = {};
let accepted = 0;
let answered = 0;
let errors = 0;
let firstError: string | null = null;
let firstRejection: string | null = null;
let stopping = false;
let inFlight = 0;

/** Everything answered since the last `interval` line, whatever the measured window. */
let interval = { answered: 0, accepted: 0, errors: 0, statusCodes: {} as Record<string, number>, rejections: {} as Record<string, number>, acceptedLatenciesMs: [] as number[] };
const clientsStartedAt = performance.now();
if (spec.intervalMs !== undefined) {
  setInterval(() => {
    send({ event: 'interval', interval: { atMs: Math.round(performance.now() - clientsStartedAt), ...interval } });
    interval = { answered: 0, accepted: 0, errors: 0, statusCodes: {}, rejections: {}, acceptedLatenciesMs: [] };
  }, spec.intervalMs).unref();
}

async function upload(agent: Agent, url: string): Promise<void> {
  const started = performance.now();
  try {
    const response = await request(url, { method: 'POST', dispatcher: agent, headers, body });
    const text = await response.body.text();
    const ended = performance.now();
    interval.answered += 1;
    interval.statusCodes[response.statusCode] = (interval.statusCodes[response.statusCode] ?? 0) + 1;
    if (response.statusCode === 202) {
      interval.accepted += 1;
      interval.acceptedLatenciesMs.push(Math.round((ended - started) * 100) / 100);
    } else {
      const why = `${response.statusCode} ${/"code":"([A-Z0-9_]+)"/.exec(text)?.[1] ?? ''}`.trim();
      interval.rejections[why] = (interval.rejections[why] ?? 0) + 1;
    }
    if (ended < window.from || ended >= window.to) return;
    answered += 1;
    latencies.push(ended - started);
    statusCodes[response.statusCode] = (statusCodes[response.statusCode] ?? 0) + 1;
    if (response.statusCode === 202) accepted += 1;
    else firstRejection ??= `${response.statusCode} ${text.slice(0, 300)}`;
    if (spec.count !== undefined && answered % 50 === 0) send({ event: 'progress', answered });
  } catch (error) {
    interval.errors += 1;
    errors += 1;
    firstError ??= error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    // A refused or reset connection would otherwise spin this loop at full speed.
    await sleep(50);
  }
}

/**
 * A timed run goes on until stopped. A count run goes on until `count` uploads were accepted: a
 * refused one (a 503 under load) is sent again, up to as many refusals as uploads asked for.
 */
function more(): boolean {
  if (stopping) return false;
  if (spec.count === undefined) return true;
  return accepted + inFlight < spec.count && answered - accepted + errors <= spec.count;
}

async function client(agent: Agent, url: string): Promise<void> {
  // Paced clients start spread over one interval, not all at once.
  let nextAt = performance.now() + Math.random() * pacingMs;
  while (more()) {
    if (pacingMs > 0) {
      await sleep(nextAt - performance.now());
      nextAt = Math.max(nextAt + pacingMs, performance.now());
      if (!more()) break;
    }
    inFlight += 1;
    await upload(agent, url);
    inFlight -= 1;
  }
}

let cpuAtStart = process.cpuUsage();
let startedAt = performance.now();
const clients = agents.map((agent, i) => client(agent, urls[i % urls.length] as string));
if (spec.count === undefined) {
  await sleep(spec.warmupSec * 1000);
  cpuAtStart = process.cpuUsage();
  startedAt = performance.now();
  window.from = startedAt;
  send({ event: 'measuring' });
  await sleep(spec.durationSec * 1000);
  window.to = performance.now();
  stopping = true;
} else {
  window.from = startedAt;
}
await Promise.all(clients);
// The answers since the last interval line, those that came after the window closed included:
// the sum of the interval lines is every upload the hub answered.
if (spec.intervalMs !== undefined) send({ event: 'interval', interval: { atMs: Math.round(performance.now() - clientsStartedAt), ...interval } });
const seconds = ((spec.count === undefined ? window.to : performance.now()) - startedAt) / 1000;
const cpu = process.cpuUsage(cpuAtStart);
await Promise.all(agents.map((agent) => agent.close()));

const result: UploadResult = {
  durationSec: seconds,
  accepted,
  acceptedPerSec: accepted / seconds,
  answered,
  statusCodes,
  errors,
  firstError,
  firstRejection,
  latency: summarize(latencies),
  connectionsOpened,
  clientCpuPercent: ((cpu.user + cpu.system) / 1e6 / seconds) * 100,
};
send({ event: 'result', result });
