/**
 * bzip2's Huffman tables: up to six coding groups per block, each a canonical prefix code over the
 * block's alphabet, decoded by one table lookup for codes of at most FAST_BITS bits and by the
 * canonical limits for longer ones.
 */
import { corrupt } from './errors.ts';

export const MAX_GROUPS = 6;
export const MAX_ALPHA = 258;
export const MAX_CODE_LEN = 20;
/** Codes up to this length are decoded by one table lookup. */
export const FAST_BITS = 10;

/** Huffman tables of one coding group, canonical as bzip2 builds them. */
export interface Group {
  minLen: number;
  /** `limit[len]`: largest code of that length, left-aligned to it; -1 when none. */
  readonly limit: Int32Array;
  readonly base: Int32Array;
  readonly perm: Uint16Array;
  /** `fast[prefix]` = symbol | length << 16 for codes of at most FAST_BITS bits, else 0. */
  readonly fast: Int32Array;
}

export function newGroup(): Group {
  return { minLen: 0, limit: new Int32Array(MAX_CODE_LEN + 2), base: new Int32Array(MAX_CODE_LEN + 2), perm: new Uint16Array(MAX_ALPHA), fast: new Int32Array(1 << FAST_BITS) };
}

/** Fills `group` (reused across blocks) from the code lengths of its `alphaSize` symbols. */
export function buildGroup(group: Group, lengths: Uint8Array, alphaSize: number): void {
  let minLen = 32;
  let maxLen = 0;
  for (let i = 0; i < alphaSize; i += 1) {
    const length = lengths[i] as number;
    if (length > maxLen) maxLen = length;
    if (length < minLen) minLen = length;
  }
  const { limit, base, perm } = group;
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
    if (code > 1 << length) throw corrupt('bzip2 data is corrupt: bad Huffman table');
    code <<= 1;
  }
  group.minLen = minLen;
  fillFastTable(group, count, maxLen);
}

function fillFastTable(group: Group, count: Int32Array, maxLen: number): void {
  const { limit, base, perm, fast } = group;
  fast.fill(0);
  for (let length = group.minLen; length <= Math.min(maxLen, FAST_BITS); length += 1) {
    for (let c = (limit[length] as number) - (count[length] as number) + 1; c <= (limit[length] as number); c += 1) {
      const symbol = perm[c - (base[length] as number)] as number;
      const shift = FAST_BITS - length;
      for (let fill = 0; fill < 1 << shift; fill += 1) fast[(c << shift) | fill] = symbol | (length << 16);
    }
  }
}
