/**
 * An incremental bzip2 decoder. Compressed input is kept only until a whole block (at most
 * 900 kB of output) can be decoded; decoded bytes go out in 64 KiB slices of one reusable
 * buffer, so memory is bounded by the block size, never by the report.
 *
 * Written for speed because decompression is most of the openscap worker's CPU: Huffman codes
 * are decoded from a 32-bit bit window with a lookup table for short codes (not bit by bit),
 * and the inverse Burrows–Wheeler transform walks one typed array a whole block at a time, several
 * stretches of its chain of dependent loads at once (inverse-bwt.ts).
 * Every block's CRC and the stream CRC are checked, so corrupt input fails instead of producing
 * wrong XML.
 *
 * This file is the stream (headers, blocks, end markers, CRCs); the stages of a block are
 * block-tables.ts → symbols.ts → inverse-bwt.ts → block-output.ts, over bit-reader.ts and
 * huffman.ts.
 */
import { BitReader } from './bit-reader.ts';
import { BlockOutput } from './block-output.ts';
import { readBlockTables } from './block-tables.ts';
import { combineStreamCrc } from './crc.ts';
import { Truncated, corrupt } from './errors.ts';
import { MAX_ALPHA, MAX_GROUPS, newGroup, type Group } from './huffman.ts';
import { LANES, buildChain, walkChain } from './inverse-bwt.ts';
import { decodeSymbols } from './symbols.ts';

const BLOCK_MAGIC_HI = 0x314159;
const BLOCK_MAGIC_LO = 0x265359;
const END_MAGIC_HI = 0x177245;
const END_MAGIC_LO = 0x385090;
/**
 * A block is at most 900 kB before its run-length pass: with that much input (plus headers) in
 * hand, decoding a block can never run out of input, unless the stream itself is cut short.
 */
const BLOCK_MARGIN = 25_000;
/** Headers and the odd tiny stream: below this much input no expansion check applies. */
const EXPANSION_SLACK_BYTES = 64 * 1024;

/**
 * A block's work arrays (8.1 MB at level 9, of which a block touches about 5.4): every entry is
 * written before it is read.
 */
interface WorkArrays {
  /** The BWT table. */
  readonly tt: Int32Array;
  /** The inverse BWT's lanes; its first block-size bytes hold the symbols before that. */
  readonly scratch: Uint8Array;
  /** The block's bytes before the run-length pass. */
  readonly block: Uint8Array;
}
const NO_ARRAYS: WorkArrays = { tt: new Int32Array(0), scratch: new Uint8Array(0), block: new Uint8Array(0) };
/**
 * Arrays of decoders that ended, for the next one on this thread: a worker decodes report after
 * report, and fresh zeroed megabytes for each cost page faults and garbage-collector pressure.
 */
const spareArrays: WorkArrays[] = [];
const MAX_SPARE_ARRAYS = 2;

export class Bunzip2Decoder {
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  /** Unconsumed input and the bit where decoding resumes in it. */
  #data: Buffer = Buffer.alloc(0);
  #bitPos = 0;
  /** 0 = a stream header comes next; else the stream's block size level (1–9). */
  #level = 0;
  #streamCrc = 0;
  #ended = false;
  /** Valid during #decode. */
  readonly #reader = new BitReader();
  /** Reused across blocks, and across decoders once this one has ended. */
  #work: WorkArrays = NO_ARRAYS;
  readonly #groups: Group[] = Array.from({ length: MAX_GROUPS }, newGroup);
  readonly #selectors = new Uint8Array(18_002);
  readonly #lengths = new Uint8Array(MAX_ALPHA);
  readonly #output: BlockOutput;
  /** Input bytes consumed by earlier #decode calls, for #checkExpansion. */
  #consumedBefore = 0;

  /** `onData` gets a view of a reused buffer: consume it before returning. Corrupt input throws. */
  constructor(onData: (bytes: Buffer) => void) {
    this.#output = new BlockOutput(onData);
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    if (this.#ended) throw corrupt('bzip2 input after end()');
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.length;
    if (this.#pendingBytes + this.#data.length >= 100_000 * (this.#level || 9) + BLOCK_MARGIN) this.#decode(false);
  }

  end(): void {
    this.#ended = true;
    this.#decode(true);
    if (this.#level !== 0) throw corrupt('bzip2 data is truncated: it ends before the end-of-stream marker');
    this.#output.flush();
    if (this.#work !== NO_ARRAYS && spareArrays.length < MAX_SPARE_ARRAYS) spareArrays.push(this.#work);
    this.#work = NO_ARRAYS;
  }

  #decode(final: boolean): void {
    if (this.#pending.length > 0) {
      this.#data = Buffer.concat([this.#data.subarray(this.#bitPos >>> 3), ...this.#pending]);
      this.#bitPos &= 7;
      this.#pending = [];
      this.#pendingBytes = 0;
    }
    const reader = this.#reader;
    reader.reset(this.#data, this.#bitPos);
    try {
      while (this.#next(final));
    } catch (error) {
      if (error instanceof Truncated) throw corrupt('bzip2 data is truncated: it ends inside a block', error);
      throw error;
    }
    const position = reader.position();
    this.#consumedBefore += position >>> 3;
    this.#data = this.#data.subarray(position >>> 3);
    this.#bitPos = position & 7;
  }

  /** Decodes the next stream header, block or end marker; false when more input is needed first. */
  #next(final: boolean): boolean {
    const reader = this.#reader;
    const remaining = this.#data.length - reader.position() / 8;
    if (this.#level === 0) {
      // Anything after a stream's end must be another stream (bzip2 concatenates them).
      if (remaining <= 0 || (!final && remaining < 4)) return false;
      this.#streamHeader();
      return true;
    }
    if (!final && remaining < 100_000 * this.#level + BLOCK_MARGIN) return false;
    const magicHi = reader.bits(24);
    const magicLo = reader.bits(24);
    const crc = reader.bits(32) >>> 0;
    if (magicHi === BLOCK_MAGIC_HI && magicLo === BLOCK_MAGIC_LO) {
      const actual = this.#block();
      if (actual !== crc) throw corrupt('bzip2 block CRC mismatch: the data is corrupt');
      this.#checkExpansion();
      this.#streamCrc = combineStreamCrc(this.#streamCrc, actual);
    } else if (magicHi === END_MAGIC_HI && magicLo === END_MAGIC_LO) {
      if (crc !== this.#streamCrc) throw corrupt('bzip2 stream CRC mismatch: the data is corrupt');
      reader.skip((8 - (reader.position() & 7)) & 7);
      this.#level = 0;
    } else throw corrupt('bzip2 data is corrupt: no block or end-of-stream marker where one must be');
    return true;
  }

  #streamHeader(): void {
    const reader = this.#reader;
    const b = reader.bits(8);
    const z = reader.bits(8);
    const h = reader.bits(8);
    const level = reader.bits(8) - 0x30;
    if (b !== 0x42 || z !== 0x5a || h !== 0x68 || level < 1 || level > 9) throw corrupt('not bzip2 data: no "BZh1".."BZh9" header');
    this.#level = level;
    this.#streamCrc = 0;
    const size = level * 100_000;
    if (this.#work.tt.length >= size) return;
    const spare = spareArrays.findIndex((arrays) => arrays.tt.length >= size);
    this.#work = spare >= 0 ? (spareArrays.splice(spare, 1)[0] as WorkArrays) : { tt: new Int32Array(size), scratch: new Uint8Array(LANES * size), block: new Uint8Array(size) };
  }

  /** Decodes one block (after its magic and CRC); returns the CRC of what it wrote. */
  #block(): number {
    const tables = readBlockTables(this.#reader, this.#groups, this.#selectors, this.#lengths);
    const { tt, scratch, block } = this.#work;
    const { nblock, counts } = decodeSymbols(this.#reader, this.#groups, this.#selectors, tables, scratch, this.#level * 100_000);
    buildChain(scratch, nblock, counts, tt);
    walkChain(tt, nblock, tables.origPtr, block, scratch);
    return this.#output.emit(block, nblock);
  }

  /**
   * bzip2 never makes data much bigger (random bytes grow by about 1 %). A stream whose blocks
   * take far more input than they give output is crafted to burn CPU on per-block work (table
   * set-up) while staying under every output limit: refuse it.
   */
  #checkExpansion(): void {
    const consumed = this.#consumedBefore + this.#reader.position() / 8;
    if (consumed > 2 * this.#output.emitted + EXPANSION_SLACK_BYTES) throw corrupt('bzip2 data is corrupt: its blocks take far more input than they give output');
  }
}
