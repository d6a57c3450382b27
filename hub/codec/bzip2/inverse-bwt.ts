/**
 * The inverse Burrows–Wheeler transform of one block: its bytes before the run-length pass, in
 * order, from the symbols in sorted order.
 *
 * The transform is a chain through a table of one entry per byte (3.6 MB at level 9): each step
 * loads the entry the previous one points to, so a plain walk waits for one cache miss after
 * another and uses a small part of what the memory system can do at once. Here the chain is cut
 * at fixed entries into segments of about STRIDE steps, and LANES segments are walked at the same
 * time, their loads interleaved, each into its own stretch of a scratch buffer; then the segments
 * are copied into the block in chain order (a segment ends where the next one starts). On the
 * rhel7 ARF fixture this takes the walk from about the C `bzip2 -dc`'s time to about half of it
 * (bench/results/openscap-profile.md).
 */
import { corrupt } from './errors.ts';

/** Entry bit that marks where a segment starts; pointers (20 bits) and bytes (8) sit below it. */
const MARK = 1 << 30;
/** Entries between segment starts: the chain visits them in no particular order, so segments average this many steps. */
const STRIDE = 2048;
/** Segments walked at once: the interleaved chains of cache misses. */
export const LANES = 4;
/** Below this a block's table stays in cache and the plain walk is as fast. */
const MIN_LANED_BLOCK = 16 * STRIDE;

/**
 * Fills `tt[0, nblock)` from the block's symbols `ll` (bytes in BWT order) and their `counts`:
 * the entry at sorted position `at` is `i << 8 | ll[i]` for the `i` whose byte sorts there, so
 * that the walk reads the next pointer and the next byte in one load.
 */
export function buildChain(ll: Uint8Array, nblock: number, counts: Int32Array, tt: Int32Array): void {
  const next = new Int32Array(256);
  for (let i = 0, sum = 0; i < 256; i += 1) {
    next[i] = sum;
    sum += counts[i] as number;
  }
  for (let i = 0; i < nblock; i += 1) {
    const byte = ll[i] as number;
    const at = next[byte] as number;
    next[byte] = at + 1;
    tt[at] = (i << 8) | byte;
  }
}

/**
 * Writes the block's `nblock` bytes into `block`, following the chain from `origPtr`. `scratch`
 * holds LANES × the block size. `tt` must come from buildChain; its entries get marks (it is
 * rebuilt for the next block).
 *
 * The chain need not pass every entry before it returns to `origPtr`: a periodic block (the same
 * p bytes k times) is k cycles of p entries, and corrupt data anything. As in bzip2 itself the
 * output is then the cycle from `origPtr`, repeated: right for the periodic block, and for corrupt
 * data wrong bytes that the block CRC refuses.
 */
export function walkChain(tt: Int32Array, nblock: number, origPtr: number, block: Uint8Array, scratch: Uint8Array): void {
  if (origPtr >= nblock) throw corrupt('bzip2 data is corrupt: origin pointer outside the block');
  if (nblock < MIN_LANED_BLOCK) walkPlain(tt, nblock, origPtr, block);
  else new LanedWalk(tt, nblock, origPtr, scratch).walk(block);
}

function walkPlain(tt: Int32Array, nblock: number, origPtr: number, block: Uint8Array): void {
  let pointer = origPtr;
  for (let i = 0; i < nblock; i += 1) {
    const entry = tt[pointer] as number;
    block[i] = entry;
    pointer = entry >>> 8;
  }
}

/**
 * Segment 0 starts at `origPtr`; segment k > 0 at entry (k - 1) × STRIDE (empty if that is
 * `origPtr`). A segment runs until the chain reaches a marked entry, so on any table every walk
 * ends, and the segments between them cover each entry at most once.
 */
class LanedWalk {
  readonly #tt: Int32Array;
  readonly #nblock: number;
  readonly #origPtr: number;
  readonly #scratch: Uint8Array;
  readonly #count: number;
  readonly #offset: Int32Array;
  readonly #length: Int32Array;
  readonly #end: Int32Array;
  readonly #laneSegment = new Int32Array(LANES);
  /** The next segment to hand to a lane. */
  #queued = 0;

  constructor(tt: Int32Array, nblock: number, origPtr: number, scratch: Uint8Array) {
    this.#tt = tt;
    this.#nblock = nblock;
    this.#origPtr = origPtr;
    this.#scratch = scratch;
    this.#count = 1 + Math.ceil(nblock / STRIDE);
    this.#offset = new Int32Array(this.#count);
    this.#length = new Int32Array(this.#count);
    this.#end = new Int32Array(this.#count);
    tt[origPtr] = (tt[origPtr] as number) | MARK;
    for (let at = 0; at < nblock; at += STRIDE) tt[at] = (tt[at] as number) | MARK;
  }

  #start(segment: number): number {
    return segment === 0 ? this.#origPtr : (segment - 1) * STRIDE;
  }

  /** Gives `lane` the next segment, written from `write` on; its first entry, unmarked, or -1 when none is left. */
  #begin(lane: number, write: number): number {
    if (this.#queued > 0 && this.#start(this.#queued) === this.#origPtr) this.#queued += 1;
    if (this.#queued >= this.#count) return -1;
    const segment = this.#queued++;
    this.#laneSegment[lane] = segment;
    this.#offset[segment] = write;
    return (this.#tt[this.#start(segment)] as number) & ~MARK;
  }

  /** `lane`'s segment ended at `write`, at the marked entry `end`; then as #begin. */
  #finish(lane: number, write: number, end: number): number {
    const segment = this.#laneSegment[lane] as number;
    this.#length[segment] = write - (this.#offset[segment] as number);
    this.#end[segment] = end;
    return this.#begin(lane, write);
  }

  walk(block: Uint8Array): void {
    const tt = this.#tt;
    const scratch = this.#scratch;
    const nblock = this.#nblock;
    // Lane k writes from k × nblock: all segments together hold at most nblock bytes.
    let w0 = 0;
    let w1 = nblock;
    let w2 = 2 * nblock;
    let w3 = 3 * nblock;
    let e0 = this.#begin(0, w0);
    let e1 = this.#begin(1, w1);
    let e2 = this.#begin(2, w2);
    let e3 = this.#begin(3, w3);
    let p = 0;
    // Entries in a lane's hand are unmarked (#begin strips the mark), so e >>> 8 is the pointer.
    // Four chains, one step each per turn, until the segments run out.
    for (;;) {
      scratch[w0++] = e0;
      p = e0 >>> 8;
      e0 = tt[p] as number;
      if ((e0 & MARK) !== 0 && (e0 = this.#finish(0, w0, p)) < 0) break;
      scratch[w1++] = e1;
      p = e1 >>> 8;
      e1 = tt[p] as number;
      if ((e1 & MARK) !== 0 && (e1 = this.#finish(1, w1, p)) < 0) break;
      scratch[w2++] = e2;
      p = e2 >>> 8;
      e2 = tt[p] as number;
      if ((e2 & MARK) !== 0 && (e2 = this.#finish(2, w2, p)) < 0) break;
      scratch[w3++] = e3;
      p = e3 >>> 8;
      e3 = tt[p] as number;
      if ((e3 & MARK) !== 0 && (e3 = this.#finish(3, w3, p)) < 0) break;
    }
    // The lanes still in a segment finish it one by one (a few thousand steps).
    this.#drain(0, e0, w0);
    this.#drain(1, e1, w1);
    this.#drain(2, e2, w2);
    this.#drain(3, e3, w3);
    this.#join(block);
  }

  #drain(lane: number, first: number, from: number): void {
    const tt = this.#tt;
    const scratch = this.#scratch;
    let entry = first;
    let write = from;
    while (entry >= 0) {
      scratch[write++] = entry;
      const pointer = entry >>> 8;
      entry = tt[pointer] as number;
      if ((entry & MARK) !== 0) entry = this.#finish(lane, write, pointer);
    }
  }

  /**
   * The segments into `block` in chain order: from the one at origPtr, each to the one its end
   * starts, until the chain is back at origPtr; a shorter cycle than the block is repeated.
   */
  #join(block: Uint8Array): void {
    const nblock = this.#nblock;
    let at = 0;
    let segment = 0;
    // Segments partition the cycles, so this visits each of origPtr's cycle once and ends there.
    for (;;) {
      const from = this.#offset[segment] as number;
      const length = this.#length[segment] as number;
      block.set(this.#scratch.subarray(from, from + length), at);
      at += length;
      const end = this.#end[segment] as number;
      if (end === this.#origPtr) break;
      segment = 1 + end / STRIDE;
    }
    for (let cycle = at; at < nblock; at += 1) block[at] = block[at - cycle] as number;
  }
}
