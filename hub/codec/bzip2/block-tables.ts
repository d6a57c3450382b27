/**
 * A block's header after its magic and CRC: the origin pointer, the byte values in use, the
 * selectors (which coding group codes each run of 50 symbols) and each group's code lengths.
 */
import type { BitReader } from './bit-reader.ts';
import { corrupt } from './errors.ts';
import { MAX_CODE_LEN, MAX_GROUPS, buildGroup, type Group } from './huffman.ts';

export interface BlockTables {
  readonly origPtr: number;
  /** Symbol value → the byte it stands for. */
  readonly seqToUnseq: Uint8Array;
  readonly alphaSize: number;
  /** Selectors actually usable (bzip2 1.0.8 may write more than it uses). */
  readonly selectorCount: number;
}

/** Reads the tables into the reused `groups`, `selectors` and `lengths`. */
export function readBlockTables(reader: BitReader, groups: readonly Group[], selectors: Uint8Array, lengths: Uint8Array): BlockTables {
  if (reader.bits(1)) throw corrupt('bzip2 data uses the obsolete randomised block mode');
  const origPtr = reader.bits(24);
  const { seqToUnseq, inUse } = readByteMap(reader);
  if (inUse === 0) throw corrupt('bzip2 data is corrupt: a block uses no byte values');
  const alphaSize = inUse + 2;
  const groupCount = reader.bits(3);
  if (groupCount < 2 || groupCount > MAX_GROUPS) throw corrupt('bzip2 data is corrupt: bad Huffman group count');
  const selectorCount = readSelectors(reader, groupCount, selectors);
  for (let g = 0; g < groupCount; g += 1) {
    readCodeLengths(reader, lengths, alphaSize);
    buildGroup(groups[g] as Group, lengths, alphaSize);
  }
  return { origPtr, seqToUnseq, alphaSize, selectorCount: Math.min(selectorCount, selectors.length) };
}

/** The byte values that occur, as a 16×16 bitmap. */
function readByteMap(reader: BitReader): { seqToUnseq: Uint8Array; inUse: number } {
  const seqToUnseq = new Uint8Array(256);
  let inUse = 0;
  const ranges = reader.bits(16);
  for (let i = 0; i < 16; i += 1) {
    if (!(ranges & (0x8000 >>> i))) continue;
    const bitsOfRange = reader.bits(16);
    for (let j = 0; j < 16; j += 1) if (bitsOfRange & (0x8000 >>> j)) seqToUnseq[inUse++] = i * 16 + j;
  }
  return { seqToUnseq, inUse };
}

/** Selectors, move-to-front coded in unary; returns how many the block declares. */
function readSelectors(reader: BitReader, groupCount: number, selectors: Uint8Array): number {
  const selectorCount = reader.bits(15);
  if (selectorCount < 1) throw corrupt('bzip2 data is corrupt: no selectors');
  const mtfGroups = [0, 1, 2, 3, 4, 5].slice(0, groupCount);
  for (let i = 0; i < selectorCount; i += 1) {
    let j = 0;
    while (reader.bits(1)) {
      j += 1;
      if (j >= groupCount) throw corrupt('bzip2 data is corrupt: bad selector');
    }
    const group = mtfGroups[j] as number;
    mtfGroups.splice(j, 1);
    mtfGroups.unshift(group);
    // bzip2 1.0.8 writes up to 18001 selectors but uses at most 18002/… ; extra ones are ignored.
    if (i < selectors.length) selectors[i] = group;
  }
  return selectorCount;
}

/** One group's code lengths, delta coded from a 5-bit start. */
function readCodeLengths(reader: BitReader, lengths: Uint8Array, alphaSize: number): void {
  let length = reader.bits(5);
  for (let s = 0; s < alphaSize; s += 1) {
    for (;;) {
      if (length < 1 || length > MAX_CODE_LEN) throw corrupt('bzip2 data is corrupt: bad code length');
      if (!reader.bits(1)) break;
      length += reader.bits(1) ? -1 : 1;
    }
    lengths[s] = length;
  }
}
