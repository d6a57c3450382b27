/**
 * A block's symbols: Huffman codes (a table lookup for short ones), the zero runs (RUNA/RUNB)
 * and the move-to-front list undone, into `ll` (a byte per symbol) with a count per byte value for
 * the inverse BWT. The hottest loop of the openscap worker: the bit window lives in locals here.
 */
import type { BitReader } from './bit-reader.ts';
import type { BlockTables } from './block-tables.ts';
import { Truncated, corrupt } from './errors.ts';
import { FAST_BITS, MAX_CODE_LEN, type Group } from './huffman.ts';

/** Symbols coded with one group before the next selector applies. */
const GROUP_SIZE = 50;

export interface DecodedSymbols {
  readonly nblock: number;
  /** How often each byte value occurs in the block. */
  readonly counts: Int32Array;
}

export function decodeSymbols(reader: BitReader, groups: readonly Group[], selectors: Uint8Array, tables: BlockTables, ll: Uint8Array, blockMax: number): DecodedSymbols {
  const { seqToUnseq, selectorCount } = tables;
  const eob = tables.alphaSize - 1;
  const mtf = new Uint8Array(256);
  for (let i = 0; i < 256; i += 1) mtf[i] = i;
  const counts = new Int32Array(256);
  let nblock = 0;
  let runLength = 0;
  let runWeight = 1;
  let selectorIndex = 0;
  let groupLeft = 0;
  let group = groups[0] as Group;
  // The group's lookup table in a local: read once per symbol, changed once per 50.
  let fast = group.fast;
  const data = reader.data;
  let bitBuf = reader.bitBuf;
  let bitCount = reader.bitCount;
  let bytePos = reader.bytePos;
  for (;;) {
    if (groupLeft === 0) {
      if (selectorIndex >= selectorCount) throw corrupt('bzip2 data is corrupt: ran out of selectors');
      group = groups[selectors[selectorIndex++] as number] as Group;
      fast = group.fast;
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
    const hit = fast[window >>> (24 - FAST_BITS)] as number;
    let symbol: number;
    if (hit !== 0) {
      symbol = hit & 0xffff;
      bitCount -= hit >>> 16;
    } else {
      const length = slowCodeLength(group, window);
      symbol = group.perm[(window >>> (24 - length)) - (group.base[length] as number)] as number;
      bitCount -= length;
    }
    if ((bytePos - data.length) * 8 > bitCount) throw new Truncated('input ended inside a block');
    if (symbol <= 1) {
      // RUNA / RUNB: a run of the byte at the front of the MTF list, in bijective base 2.
      runLength += runWeight << symbol;
      runWeight <<= 1;
      if (runLength > blockMax) throw corrupt('bzip2 data is corrupt: a run overflows the block');
      continue;
    }
    if (runLength > 0) {
      if (nblock + runLength > blockMax) throw corrupt('bzip2 data is corrupt: block too long');
      const byte = seqToUnseq[mtf[0] as number] as number;
      counts[byte] = (counts[byte] as number) + runLength;
      // Most runs are short: a loop beats the call into fill() for them.
      if (runLength < 32) for (let end = nblock + runLength; nblock < end; nblock += 1) ll[nblock] = byte;
      else {
        ll.fill(byte, nblock, nblock + runLength);
        nblock += runLength;
      }
      runLength = 0;
      runWeight = 1;
    }
    if (symbol === eob) break;
    // Move to front: symbol n stands for MTF index n - 1.
    const index = symbol - 1;
    const value = mtf[index] as number;
    // Most indices are small (that is what move-to-front is for): a loop beats copyWithin().
    if (index < 16) for (let k = index; k > 0; k -= 1) mtf[k] = mtf[k - 1] as number;
    else mtf.copyWithin(1, 0, index);
    mtf[0] = value;
    const byte = seqToUnseq[value] as number;
    if (nblock >= blockMax) throw corrupt('bzip2 data is corrupt: block too long');
    counts[byte] = (counts[byte] as number) + 1;
    ll[nblock++] = byte;
  }
  reader.bitBuf = bitBuf;
  reader.bitCount = bitCount;
  reader.bytePos = bytePos;
  return { nblock, counts };
}

/** The length of a code longer than FAST_BITS, from the canonical limits. */
function slowCodeLength(group: Group, window: number): number {
  let length = group.minLen;
  let code = window >>> (24 - length);
  while (length <= MAX_CODE_LEN && code > (group.limit[length] as number)) {
    length += 1;
    code = window >>> (24 - length);
  }
  if (length > MAX_CODE_LEN) throw corrupt('bzip2 data is corrupt: bad Huffman code');
  return length;
}
