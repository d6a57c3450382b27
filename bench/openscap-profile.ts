/**
 * The openscap worker's CPU per report without broker, Redis or Foreman: the exact code path of
 * one delivery (envelope decode, base64 → bytes, the parse thread's bzip2 + SAX + report + JSON,
 * the blob digest, the POST body's bytes) run `--reports` times on one thread, after `--warmup`
 * unmeasured ones; then each stage alone, so that the split can be read without a profiler.
 * `bzip2 -dc` on the same file is timed (its CPU, from getrusage of children) in the same run.
 *
 *   node --import tsx bench/openscap-profile.ts [--reports 100] [--warmup 20]
 *   node --cpu-prof --cpu-prof-dir=/tmp/osprof --import tsx bench/openscap-profile.ts --stages none
 *   node --import tsx bench/lib/cpu-profile-summary.ts /tmp/osprof/*.cpuprofile
 */
import { createHash } from 'node:crypto';
import { StringDecoder } from 'node:string_decoder';
import { parseArgs } from 'node:util';
import { SaxesParser } from 'saxes';
import { createEvent } from '../contracts/events/create-event.ts';
import { decodeEvent } from '../hub/bus/event-codec.ts';
import { Bunzip2Decoder } from '../hub/codec/bzip2/decoder.ts';
import { arfForemanJson } from '../workers/openscap/arf-foreman-json.ts';
import { FastXmlScanner } from '../workers/openscap/arf-xml-scanner.ts';
import { loadArfFixture } from './lib/arf-fixture.ts';
import { bzip2CpuMsPerCopy } from './lib/bzip2-reference.ts';

const { values } = parseArgs({ options: { reports: { type: 'string' }, warmup: { type: 'string' }, stages: { type: 'string' } } });
const reports = Number(values.reports ?? 100);
const warmup = Number(values.warmup ?? 20);
const fixture = loadArfFixture();
const context = { proxyName: 'bench-proxy', proxyUrl: null };

/** The delivery body as the ingress publishes it: the envelope's JSON with the bytes as base64. */
const envelope = createEvent('openscap.arf.uploaded.v1', { policyId: 1, cname: 'bench-host.example.com', reportedAt: 1_700_000_000, arf: fixture.bzip2.toString('base64') }, { source: 'bench' });
const deliveryBody = Buffer.from(JSON.stringify(envelope));

/** What the worker does with one delivery, minus the I/O (the broker, Redis, disk, Foreman). */
async function oneDelivery(): Promise<number> {
  const event = decodeEvent({ body: deliveryBody });
  if (event.type !== 'openscap.arf.uploaded.v1') throw new Error('unexpected event type');
  const bytes = Buffer.from(event.data.arf, 'base64');
  const json = await arfForemanJson([bytes], context);
  createHash('sha256').update(bytes).digest('hex');
  return Buffer.byteLength(json);
}

function cpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

async function perReport(run: () => unknown, count: number): Promise<number> {
  for (let i = 0; i < Math.min(warmup, count); i += 1) await run();
  const before = cpuMs();
  for (let i = 0; i < count; i += 1) await run();
  return (cpuMs() - before) / count;
}

/** Each stage on its own, cumulatively: the difference between rows is one stage's cost (the saxes row replaces the scanner's, for comparison). */
const stages: ReadonlyArray<readonly [string, () => unknown]> = [
  ['bzip2 decode (JS)', () => {
    const decoder = new Bunzip2Decoder(() => undefined);
    decoder.push(fixture.bzip2);
    decoder.end();
  }],
  ['+ UTF-8 → string', () => {
    const text = new StringDecoder('utf8');
    const decoder = new Bunzip2Decoder((bytes) => text.write(bytes));
    decoder.push(fixture.bzip2);
    decoder.end();
  }],
  ['+ fast XML scanner, events dropped', () => {
    const text = new StringDecoder('utf8');
    const xml = new FastXmlScanner({ open: () => undefined, close: () => undefined, text: () => undefined, otherNode: () => undefined, wantsText: () => false });
    const decoder = new Bunzip2Decoder((bytes) => xml.write(text.write(bytes)));
    decoder.push(fixture.bzip2);
    decoder.end();
    xml.close();
  }],
  ['(instead: saxes, no handlers; the old parser)', () => {
    const text = new StringDecoder('utf8');
    const xml = new SaxesParser({ xmlns: false });
    const decoder = new Bunzip2Decoder((bytes) => xml.write(text.write(bytes)));
    decoder.push(fixture.bzip2);
    decoder.end();
    xml.close();
  }],
  ['+ collect, report, JSON (arfForemanJson)', () => arfForemanJson([fixture.bzip2], context)],
  ['+ envelope, base64, sha256 (one delivery)', oneDelivery],
];

const bodyBytes = await oneDelivery();
process.stdout.write(`${fixture.name}: ${fixture.bzip2.length} B bzip2, ${fixture.xmlBytes} B XML, ${bodyBytes} B of Foreman JSON\n`);
if (values.stages === 'none') {
  process.stdout.write(`one delivery: ${(await perReport(oneDelivery, reports)).toFixed(1)} ms CPU per report over ${reports}\n`);
} else {
  for (const [name, run] of stages) process.stdout.write(`${name.padEnd(48)} ${(await perReport(run, reports)).toFixed(1).padStart(6)} ms CPU per report\n`);
}
const reference = await bzip2CpuMsPerCopy(fixture.path, 20);
process.stdout.write(`${'bzip2 -dc (C, child process)'.padEnd(48)} ${reference.toFixed(1).padStart(6)} ms CPU per copy (20 copies)\n`);
