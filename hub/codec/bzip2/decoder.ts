/**
 * An incremental bzip2 decoder. Compressed input is kept only until a whole block (at most
 * 900 kB of output) can be decoded; decoded bytes go out in 64 KiB slices of one reusable
 * buffer, so memory is bounded by the block size, never by the report.
 *
 * Written for speed because decompression is most of the openscap worker's CPU: Huffman codes
 * are decoded from a 32-bit bit window with a lookup table for short codes (not bit by bit),
 * and the inverse Burrows–Wheeler transform walks one typed array. Every block's CRC and the
 * stream CRC are checked, so corrupt input fails instead of producing wrong XML.
 */

const OUT_SIZE = 64 * 1024;
const BLOCK_MAGIC_HI = 0x314159;
const BLOCK_MAGIC_LO = 0x265359;
const END_MAGIC_HI = 0x177245;
const END_MAGIC_LO = 0x385090;
const MAX_GROUPS = 6;
const MAX_ALPHA = 258;
const MAX_CODE_LEN = 20;
const GROUP_SIZE = 50;
/** Codes up to this length are decoded by one table lookup. */
const FAST_BITS = 10;
/**
 * A block is at most 900 kB before its run-length pass: with that much input (plus headers) in
 * hand, decoding a block can never run out of input, unless the stream itself is cut short.
 */
const BLOCK_MARGIN = 25_000;
/** Headers and the odd tiny stream: below this much input no expansion check applies. */
const EXPANSION_SLACK_BYTES = 64 * 1024;

const CRC_TABLE = (() => {
  const table = new Int32Array(256);
  for (let i = 0; i < 256; i += 1) {
    let c = i << 24;
    for (let k = 0; k < 8; k += 1) c = c & 0x80000000 ? (c << 1) ^ 0x04c11db7 : c << 1;
    table[i] = c;
  }
  return table;
})();

class Truncated extends Error {}

/** Huffman tables of one coding group, canonical as bzip2 builds them. */
interface Group {
  minLen: number;
  /** `limit[len]`: largest code of that length, left-aligned to it; -1 when none. */
  readonly limit: Int32Array;
  readonly base: Int32Array;
  readonly perm: Uint16Array;
  /** `fast[prefix]` = symbol | length << 16 for codes of at most FAST_BITS bits, else 0. */
  readonly fast: Int32Array;
}

function newGroup(): Group {
  return { minLen: 0, limit: new Int32Array(MAX_CODE_LEN + 2), base: new Int32Array(MAX_CODE_LEN + 2), perm: new Uint16Array(MAX_ALPHA), fast: new Int32Array(1 << FAST_BITS) };
}

export class Bunzip2Decoder {
  readonly #onData: (bytes: Buffer) => void;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  /** Unconsumed input and the bit where decoding resumes in it. */
  #data: Buffer = Buffer.alloc(0);
  #bitPos = 0;
  /** 0 = a stream header comes next; else the stream's block size level (1–9). */
  #level = 0;
  #streamCrc = 0;
  #ended = false;
  // Bit reader state, valid during #decode.
  #bytePos = 0;
  #bitBuf = 0;
  #bitCount = 0;
  // Work arrays, reused across blocks.
  #tt: Uint32Array = new Uint32Array(0);
  readonly #groups: Group[] = Array.from({ length: MAX_GROUPS }, newGroup);
  readonly #selectors = new Uint8Array(18_002);
  readonly #lengths = new Uint8Array(MAX_ALPHA);
  readonly #out = Buffer.allocUnsafe(OUT_SIZE);
  #outLength = 0;
  /** Input bytes consumed by earlier #decode calls, and bytes written out, for #checkExpansion. */
  #consumedBefore = 0;
  #emitted = 0;

  /** `onData` gets a view of a reused buffer: consume it before returning. Corrupt input throws. */
  constructor(onData: (bytes: Buffer) => void) {
    this.#onData = onData;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    if (this.#ended) throw new Error('bzip2 input after end()');
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.length;
    if (this.#pendingBytes + this.#data.length >= 100_000 * (this.#level || 9) + BLOCK_MARGIN) this.#decode(false);
  }

  end(): void {
    this.#ended = true;
    this.#decode(true);
    if (this.#level !== 0) throw new Error('bzip2 data is truncated: it ends before the end-of-stream marker');
    this.#flush();
  }

  #decode(final: boolean): void {
    if (this.#pending.length > 0) {
      this.#data = Buffer.concat([this.#data.subarray(this.#bitPos >>> 3), ...this.#pending]);
      this.#bitPos &= 7;
      this.#pending = [];
      this.#pendingBytes = 0;
    }
    this.#bytePos = 0;
    this.#bitBuf = 0;
    this.#bitCount = 0;
    this.#skip(this.#bitPos);
    try {
      for (;;) {
        const remaining = this.#data.length - this.#position() / 8;
        if (this.#level === 0) {
          // Anything after a stream's end must be another stream (bzip2 concatenates them).
          if (remaining <= 0 || (!final && remaining < 4)) break;
          this.#streamHeader();
          continue;
        }
        if (!final && remaining < 100_000 * this.#level + BLOCK_MARGIN) break;
        const magicHi = this.#bits(24);
        const magicLo = this.#bits(24);
        const crc = this.#bits(32) >>> 0;
        if (magicHi === BLOCK_MAGIC_HI && magicLo === BLOCK_MAGIC_LO) {
          const actual = this.#block();
          if (actual !== crc) throw new Error('bzip2 block CRC mismatch: the data is corrupt');
          this.#checkExpansion();
          this.#streamCrc = (((this.#streamCrc << 1) | (this.#streamCrc >>> 31)) ^ actual) >>> 0;
        } else if (magicHi === END_MAGIC_HI && magicLo === END_MAGIC_LO) {
          if (crc !== this.#streamCrc) throw new Error('bzip2 stream CRC mismatch: the data is corrupt');
          this.#skip((8 - (this.#position() & 7)) & 7);
          this.#level = 0;
        } else throw new Error('bzip2 data is corrupt: no block or end-of-stream marker where one must be');
      }
    } catch (error) {
      if (error instanceof Truncated) throw new Error('bzip2 data is truncated: it ends inside a block', { cause: error });
      throw error;
    }
    const position = this.#position();
    this.#consumedBefore += position >>> 3;
    this.#data = this.#data.subarray(position >>> 3);
    this.#bitPos = position & 7;
  }

  #streamHeader(): void {
    const b = this.#bits(8);
    const z = this.#bits(8);
    const h = this.#bits(8);
    const level = this.#bits(8) - 0x30;
    if (b !== 0x42 || z !== 0x5a || h !== 0x68 || level < 1 || level > 9) throw new Error('not bzip2 data: no "BZh1".."BZh9" header');
    this.#level = level;
    this.#streamCrc = 0;
    if (this.#tt.length < level * 100_000) this.#tt = new Uint32Array(level * 100_000);
  }

  /**
   * bzip2 never makes data much bigger (random bytes grow by about 1 %). A stream whose blocks
   * take far more input than they give output is crafted to burn CPU on per-block work (table
   * set-up) while staying under every output limit: refuse it.
   */
  #checkExpansion(): void {
    const consumed = this.#consumedBefore + this.#position() / 8;
    if (consumed > 2 * this.#emitted + EXPANSION_SLACK_BYTES) throw new Error('bzip2 data is corrupt: its blocks take far more input than they give output');
  }

  /** Bits consumed from `#data` so far. */
  #position(): number {
    return this.#bytePos * 8 - this.#bitCount;
  }

  #refill(): void {
    const data = this.#data;
    while (this.#bitCount <= 24) {
      if (this.#bytePos >= data.length) {
        // Past the end: zeros, so a peek near the end works; reading them is caught by #need.
        this.#bitBuf = (this.#bitBuf << 8) >>> 0;
        this.#bytePos += 1;
      } else this.#bitBuf = ((this.#bitBuf << 8) | (data[this.#bytePos++] as number)) >>> 0;
      this.#bitCount += 8;
    }
  }

  #need(): void {
    if (this.#position() > this.#data.length * 8) throw new Truncated('input ended inside a block');
  }

  #bits(n: number): number {
    if (n > 24) return this.#bits(n - 16) * 0x10000 + this.#bits(16);
    if (this.#bitCount < n) this.#refill();
    this.#bitCount -= n;
    const value = (this.#bitBuf >>> this.#bitCount) & ((1 << n) - 1);
    this.#need();
    return value;
  }

  #skip(n: number): void {
    for (let left = n; left > 0; left -= 16) this.#bits(Math.min(16, left));
  }

  /** Decodes one block (after its magic and CRC); returns the CRC of what it wrote. */
  #block(): number {
    if (this.#bits(1)) throw new Error('bzip2 data uses the obsolete randomised block mode');
    const origPtr = this.#bits(24);
    // The byte values that occur, as a 16×16 bitmap.
    const seqToUnseq = new Uint8Array(256);
    let inUse = 0;
    const ranges = this.#bits(16);
    for (let i = 0; i < 16; i += 1) {
      if (!(ranges & (0x8000 >>> i))) continue;
      const bitsOfRange = this.#bits(16);
      for (let j = 0; j < 16; j += 1) if (bitsOfRange & (0x8000 >>> j)) seqToUnseq[inUse++] = i * 16 + j;
    }
    if (inUse === 0) throw new Error('bzip2 data is corrupt: a block uses no byte values');
    const alphaSize = inUse + 2;
    const groupCount = this.#bits(3);
    if (groupCount < 2 || groupCount > MAX_GROUPS) throw new Error('bzip2 data is corrupt: bad Huffman group count');
    const selectorCount = this.#bits(15);
    if (selectorCount < 1) throw new Error('bzip2 data is corrupt: no selectors');
    const mtfGroups = [0, 1, 2, 3, 4, 5].slice(0, groupCount);
    const selectors = this.#selectors;
    for (let i = 0; i < selectorCount; i += 1) {
      let j = 0;
      while (this.#bits(1)) {
        j += 1;
        if (j >= groupCount) throw new Error('bzip2 data is corrupt: bad selector');
      }
      const group = mtfGroups[j] as number;
      mtfGroups.splice(j, 1);
      mtfGroups.unshift(group);
      // bzip2 1.0.8 writes up to 18001 selectors but uses at most 18002/… ; extra ones are ignored.
      if (i < selectors.length) selectors[i] = group;
    }
    const lengths = this.#lengths;
    for (let g = 0; g < groupCount; g += 1) {
      let length = this.#bits(5);
      for (let s = 0; s < alphaSize; s += 1) {
        for (;;) {
          if (length < 1 || length > MAX_CODE_LEN) throw new Error('bzip2 data is corrupt: bad code length');
          if (!this.#bits(1)) break;
          length += this.#bits(1) ? -1 : 1;
        }
        lengths[s] = length;
      }
      this.#buildGroup(this.#groups[g] as Group, lengths, alphaSize);
    }
    return this.#decodeSymbols(origPtr, seqToUnseq, alphaSize, selectors, Math.min(selectorCount, selectors.length));
  }

  #buildGroup(group: Group, lengths: Uint8Array, alphaSize: number): void {
    let minLen = 32;
    let maxLen = 0;
    for (let i = 0; i < alphaSize; i += 1) {
      const length = lengths[i] as number;
      if (length > maxLen) maxLen = length;
      if (length < minLen) minLen = length;
    }
    const { limit, base, perm, fast } = group;
    let p = 0;
    for (let length = minLen; length <= maxLen; length += 1) for (let s = 0; s < alphaSize; s += 1) if (lengths[s] === length) perm[p++] = s;
    const count = new Int32Array(MAX_CODE_LEN + 2);
    for (let i = 0; i < alphaSize; i += 1) count[lengths[i] as number] = (count[lengths[i] as number] as number) + 1;
    limit.fill(-1);
    base.fill(0);
    let code = 0;
    let index = 0;
    for (let length = minLen; length <= maxLen; length += 1) {
      const n = count[length] as number;
      // Codes of this length are code .. code+n-1; symbol = perm[code - base[length]].
      base[length] = code - index;
      code += n;
      index += n;
      limit[length] = code - 1;
      // More codes of this length than the length can express: not a prefix code. Without this
      // check a crafted table makes the fast-table fill below run for a very long time.
      if (code > 1 << length) throw new Error('bzip2 data is corrupt: bad Huffman table');
      code <<= 1;
    }
    group.minLen = minLen;
    fast.fill(0);
    for (let length = minLen; length <= Math.min(maxLen, FAST_BITS); length += 1) {
      for (let c = (limit[length] as number) - (count[length] as number) + 1; c <= (limit[length] as number); c += 1) {
        const symbol = perm[c - (base[length] as number)] as number;
        const shift = FAST_BITS - length;
        for (let fill = 0; fill < 1 << shift; fill += 1) fast[(c << shift) | fill] = symbol | (length << 16);
      }
    }
  }

  /** Huffman + MTF + zero runs into `tt`, then the inverse BWT and run-length pass to output. */
  #decodeSymbols(origPtr: number, seqToUnseq: Uint8Array, alphaSize: number, selectors: Uint8Array, selectorCount: number): number {
    const tt = this.#tt;
    const blockMax = this.#level * 100_000;
    const eob = alphaSize - 1;
    const mtf = new Uint8Array(256);
    for (let i = 0; i < 256; i += 1) mtf[i] = i;
    const counts = new Int32Array(256);
    let nblock = 0;
    let runLength = 0;
    let runWeight = 1;
    let selectorIndex = 0;
    let groupLeft = 0;
    let group = this.#groups[0] as Group;
    const data = this.#data;
    let bitBuf = this.#bitBuf;
    let bitCount = this.#bitCount;
    let bytePos = this.#bytePos;
    for (;;) {
      if (groupLeft === 0) {
        if (selectorIndex >= selectorCount) throw new Error('bzip2 data is corrupt: ran out of selectors');
        group = this.#groups[selectors[selectorIndex++] as number] as Group;
        groupLeft = GROUP_SIZE;
      }
      groupLeft -= 1;
      // Keep at least 24 bits in the window: one code is at most 20.
      while (bitCount <= 24) {
        bitBuf = ((bitBuf << 8) | (bytePos < data.length ? (data[bytePos] as number) : 0)) >>> 0;
        bytePos += 1;
        bitCount += 8;
      }
      const window = (bitBuf >>> (bitCount - 24)) & 0xffffff;
      const hit = group.fast[window >>> (24 - FAST_BITS)] as number;
      let symbol: number;
      if (hit !== 0) {
        symbol = hit & 0xffff;
        bitCount -= hit >>> 16;
      } else {
        let length = group.minLen;
        let code = window >>> (24 - length);
        while (length <= MAX_CODE_LEN && code > (group.limit[length] as number)) {
          length += 1;
          code = window >>> (24 - length);
        }
        if (length > MAX_CODE_LEN) throw new Error('bzip2 data is corrupt: bad Huffman code');
        symbol = group.perm[code - (group.base[length] as number)] as number;
        bitCount -= length;
      }
      if ((bytePos - data.length) * 8 > bitCount) throw new Truncated('input ended inside a block');
      if (symbol <= 1) {
        // RUNA / RUNB: a run of the byte at the front of the MTF list, in bijective base 2.
        runLength += runWeight << symbol;
        runWeight <<= 1;
        if (runLength > blockMax) throw new Error('bzip2 data is corrupt: a run overflows the block');
        continue;
      }
      if (runLength > 0) {
        if (nblock + runLength > blockMax) throw new Error('bzip2 data is corrupt: block too long');
        const byte = seqToUnseq[mtf[0] as number] as number;
        counts[byte] = (counts[byte] as number) + runLength;
        tt.fill(byte, nblock, nblock + runLength);
        nblock += runLength;
        runLength = 0;
        runWeight = 1;
      }
      if (symbol === eob) break;
      // Move to front: symbol n stands for MTF index n - 1.
      const index = symbol - 1;
      const value = mtf[index] as number;
      mtf.copyWithin(1, 0, index);
      mtf[0] = value;
      const byte = seqToUnseq[value] as number;
      if (nblock >= blockMax) throw new Error('bzip2 data is corrupt: block too long');
      counts[byte] = (counts[byte] as number) + 1;
      tt[nblock++] = byte;
    }
    this.#bitBuf = bitBuf;
    this.#bitCount = bitCount;
    this.#bytePos = bytePos;
    if (origPtr >= nblock) throw new Error('bzip2 data is corrupt: origin pointer outside the block');
    // Inverse BWT: tt[i] keeps its byte in the low 8 bits and gets the next index above them.
    const cumulative = new Int32Array(256);
    for (let i = 0, sum = 0; i < 256; i += 1) {
      cumulative[i] = sum;
      sum += counts[i] as number;
    }
    for (let i = 0; i < nblock; i += 1) {
      const byte = (tt[i] as number) & 0xff;
      const at = cumulative[byte] as number;
      cumulative[byte] = at + 1;
      tt[at] = ((tt[at] as number) | (i << 8)) >>> 0;
    }
    return this.#emit(nblock, (tt[origPtr] as number) >>> 8);
  }

  /** Walks the BWT chain, undoes the initial run-length pass, writes out, returns the CRC. */
  #emit(nblock: number, start: number): number {
    const tt = this.#tt;
    const out = this.#out;
    let outLength = this.#outLength;
    let crc = -1;
    let pointer = start;
    let previous = -1;
    let same = 0;
    for (let i = 0; i < nblock; i += 1) {
      const entry = tt[pointer] as number;
      pointer = entry >>> 8;
      const byte = entry & 0xff;
      if (same !== 4) {
        same = byte === previous ? same + 1 : 1;
        previous = byte;
        crc = (crc << 8) ^ (CRC_TABLE[((crc >>> 24) ^ byte) & 0xff] as number);
        out[outLength++] = byte;
        if (outLength === OUT_SIZE) {
          this.#outLength = outLength;
          this.#flush();
          outLength = 0;
        }
        continue;
      }
      // After four equal bytes the next one counts further copies (0–255); a new run follows.
      same = 0;
      for (let k = 0; k < byte; k += 1) {
        crc = (crc << 8) ^ (CRC_TABLE[((crc >>> 24) ^ previous) & 0xff] as number);
        out[outLength++] = previous;
        if (outLength === OUT_SIZE) {
          this.#outLength = outLength;
          this.#flush();
          outLength = 0;
        }
      }
      previous = -1;
    }
    this.#outLength = outLength;
    this.#flush();
    return ~crc >>> 0;
  }

  #flush(): void {
    if (this.#outLength === 0) return;
    const length = this.#outLength;
    this.#outLength = 0;
    this.#emitted += length;
    this.#onData(this.#out.subarray(0, length));
  }
}
