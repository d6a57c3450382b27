/**
 * The bzip2 decoder against the system's bzip2: every block size, data that compresses well,
 * badly and into long runs, any chunking, concatenated streams; and corrupt or cut input fails
 * with a clear error instead of yielding wrong bytes.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import t from 'tap';
import { Bunzip2Decoder } from '../../hub/codec/bzip2/decoder.ts';
import { LANES, buildChain, walkChain } from '../../hub/codec/bzip2/inverse-bwt.ts';

const compress = (input: Buffer, level = 9): Buffer => execFileSync('bzip2', ['-c', `-${level}`], { input, maxBuffer: 1 << 30 });

function decode(input: Buffer, chunk = 65_536): Buffer {
  const parts: Buffer[] = [];
  const decoder = new Bunzip2Decoder((bytes) => parts.push(Buffer.from(bytes)));
  for (let at = 0; at < input.length; at += chunk) decoder.push(input.subarray(at, at + chunk));
  decoder.end();
  return Buffer.concat(parts);
}

const samples: Record<string, Buffer> = {
  random: randomBytes(1_200_000),
  text: Buffer.from(Array.from({ length: 120_000 }, (_, i) => `<rule id="r${i % 977}">pass</rule>\n`).join('')),
  // Runs of every length around the 4-byte run-length threshold, and runs far past 255.
  runs: Buffer.concat(Array.from({ length: 4000 }, (_, i) => Buffer.alloc((i % 9) + 1 + (i % 50 === 0 ? 3000 : 0), 65 + (i % 3)))),
  'one byte value': Buffer.alloc(2_000_000, 0x78),
};

for (const [name, input] of Object.entries(samples)) {
  for (const level of [1, 9]) {
    t.test(`${name}, block size ${level}: identical to the input`, async (t) => {
      const compressed = compress(input, level);
      t.ok(decode(compressed).equals(input), '64 KiB chunks');
      t.ok(decode(compressed, 7_777).equals(input), 'odd chunks');
    });
  }
}

t.test('1-byte chunks, concatenated streams, an empty stream', async (t) => {
  const small = Buffer.from('hello, bzip2\n'.repeat(100));
  t.ok(decode(compress(small), 1).equals(small), 'byte by byte');
  t.ok(decode(Buffer.concat([compress(small), compress(small, 1)])).equals(Buffer.concat([small, small])), 'two streams back to back');
  t.equal(decode(compress(Buffer.alloc(0))).length, 0, 'an empty stream decodes to nothing');
});

t.test('cut or corrupt input fails clearly', async (t) => {
  const compressed = compress(samples.text as Buffer);
  t.throws(() => decode(compressed.subarray(0, compressed.length >> 1)), /truncated/, 'cut in the middle');
  t.throws(() => decode(compressed.subarray(0, compressed.length - 3)), /truncated|CRC/, 'cut inside the end marker');
  const flipped = Buffer.from(compressed);
  const middle = Math.floor(flipped.length / 2);
  flipped[middle] = (flipped[middle] as number) ^ 0x10;
  t.throws(() => decode(flipped), /corrupt|CRC|truncated/, 'one bit flipped');
  t.throws(() => decode(Buffer.from('BZh9 not really')), /corrupt|truncated/);
  t.throws(() => decode(Buffer.from('plain text, long enough')), /not bzip2/);
  t.throws(() => decode(Buffer.concat([compress(Buffer.from('x')), Buffer.from('trailing garbage')])), /not bzip2/, 'garbage after the end');
  for (const bad of [compressed.subarray(0, compressed.length >> 1), flipped, Buffer.from('plain text, long enough')]) {
    t.throws(() => decode(bad), { code: 'PROXYHUB_ARF_UNPARSEABLE' }, 'an error of the catalog');
  }
});

t.test('input that yields almost no output is refused (per-block work is not free)', async (t) => {
  // Thousands of 1-byte streams: about 40 bytes of input for every byte of output.
  const tiny = compress(Buffer.from('x'));
  t.throws(() => decode(Buffer.concat(Array.from({ length: 3000 }, () => tiny))), /far more input than they give output/);
});

t.test('the inverse BWT walked in lanes reads exactly as the plain chain walk', async (t) => {
  // Random symbols give a table whose chain is any permutation (often several cycles, which the
  // walk repeats from the origin's, as bzip2 does); origins on and off the lanes' segment starts.
  const nblock = 100_000;
  const ll = randomBytes(nblock);
  const counts = new Int32Array(256);
  for (const byte of ll) counts[byte] = (counts[byte] as number) + 1;
  for (const origPtr of [0, 1, 2048, 4096, 50_001, nblock - 1]) {
    const tt = new Int32Array(nblock);
    buildChain(ll, nblock, counts, tt);
    const expected = new Uint8Array(nblock);
    for (let i = 0, pointer = origPtr; i < nblock; i += 1) {
      const entry = tt[pointer] as number;
      expected[i] = entry & 0xff;
      pointer = entry >>> 8;
    }
    const block = new Uint8Array(nblock);
    walkChain(tt, nblock, origPtr, block, new Uint8Array(LANES * nblock));
    t.ok(Buffer.from(block).equals(Buffer.from(expected)), `origin ${origPtr}`);
  }
});
