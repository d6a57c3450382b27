/**
 * The openscap worker's CPU per report without broker, Redis or Foreman: the exact code path of
 * one delivery (envelope decode, base64 → bytes, the parse thread's bzip2 + SAX + report + JSON,
 * the blob digest, the POST body's bytes) on one thread, after `--warmup` unmeasured ones; then
 * each stage alone, so that the split can be read without a profiler.
 *
 * The machine is shared, and what else runs moves every figure by tens of per cent within
 * minutes: so the run is `--rounds` rounds, each `--reports` reports of every stage followed by
 * `--copies` runs of `bzip2 -dc` on the same file (its CPU, from bash's `times`), and each figure
 * is the median over the rounds, the ratio to `bzip2 -dc` taken within each round.
 *
 *   node --import tsx bench/openscap-profile.ts [--rounds 9] [--reports 8] [--copies 6] [--warmup 20]
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
import { median } from './lib/stats.ts';

const { values } = parseArgs({ options: { rounds: { type: 'string' }, reports: { type: 'string' }, copies: { type: 'string' }, warmup: { type: 'string' }, stages: { type: 'string' } } });
const rounds = Number(values.rounds ?? 9);
const reports = Number(values.reports ?? 8);
const copies = Number(values.copies ?? 6);
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
const measured: ReadonlyArray<readonly [string, () => unknown]> = values.stages === 'none' ? [['one delivery', oneDelivery]] : stages;
for (const [, run] of measured) for (let i = 0; i < warmup; i += 1) await run();
const samples = measured.map(() => [] as number[]);
const reference: number[] = [];
for (let round = 0; round < rounds; round += 1) {
  for (const [index, [, run]] of measured.entries()) samples[index]?.push(await perReport(run, reports));
  reference.push(await bzip2CpuMsPerCopy(fixture.path, copies));
  process.stderr.write(`round ${round + 1}/${rounds}: bzip2 -dc ${(reference[round] as number).toFixed(1)} ms, ${measured.map(([name], index) => `${name.slice(0, 24)} ${(samples[index]?.[round] ?? 0).toFixed(1)}`).join(', ')}\n`);
}
process.stdout.write(`${rounds} rounds of ${reports} reports per stage and ${copies} bzip2 -dc copies; medians over the rounds\n`);
process.stdout.write(`${'stage'.padEnd(48)} ${'ms CPU'.padStart(7)} ${'× bzip2 -dc'.padStart(12)}\n`);
for (const [index, [name]] of measured.entries()) {
  const own = samples[index] ?? [];
  process.stdout.write(`${name.padEnd(48)} ${median(own).toFixed(1).padStart(7)} ${median(own.map((ms, round) => ms / (reference[round] as number))).toFixed(2).padStart(12)}\n`);
}
process.stdout.write(`${'bzip2 -dc (C, child process)'.padEnd(48)} ${median(reference).toFixed(1).padStart(7)} ${'1.00'.padStart(12)}\n`);
