// Incremental bzip2 decoder on top of unbzip2-stream's block decoder.
// Decoded bytes go through one reusable fixed-size buffer, so live memory is
// bounded by the bzip2 block size (compressed input kept until a whole block
// is available, plus the decoder's work array), never by the report size.
import bitIterator from 'unbzip2-stream/lib/bit_iterator.js';
import type { BitReader } from 'unbzip2-stream/lib/bit_iterator.js';
import bzip2 from 'unbzip2-stream/lib/bzip2.js';

// Each block is decoded synchronously in one call; the decoder module's shared
// tables are rebuilt at the start of every block, so concurrent parses that
// interleave between blocks cannot disturb each other.
const OUT_SIZE = 64 * 1024;
/** A compressed block is at most about its uncompressed size plus headers;
 * with this much input pending the decoder can never run dry mid-block. */
const BLOCK_MARGIN = 25_000;

export class Bunzip2Decoder {
  private readonly pending: Buffer[] = [];
  private received = 0;
  private bits: BitReader | null = null;
  private level = 0; // 0 = expecting a stream header ("BZh1".."BZh9")
  private streamCrc: number | null = null;
  private work: Int32Array | null = null;
  private readonly out = Buffer.allocUnsafe(OUT_SIZE);
  private outLength = 0;
  private readonly emitByte = (byte: number): void => {
    this.out[this.outLength++] = byte;
    if (this.outLength === OUT_SIZE) this.flush();
  };

  /** `onData` gets a view of the shared output buffer: consume it before
   * returning. Corrupt input makes push()/end() throw. */
  constructor(private readonly onData: (bytes: Buffer) => void) {}

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.pending.push(chunk);
    this.received += chunk.length;
    this.bits ??= bitIterator(() => this.pending.shift());
    while (this.available() >= (this.level === 0 ? 4 : BLOCK_MARGIN + 100_000 * this.level)) this.step();
  }

  end(): void {
    try {
      while (this.available() > 0) this.step();
    } catch (error) {
      // The block decoder reads past the input's end as `undefined` bytes and fails on them.
      throw error instanceof TypeError ? new Error('bzip2 data is truncated: it ends inside a block', { cause: error }) : error;
    }
    if (this.streamCrc !== null) throw new Error('bzip2 data ended before the end-of-stream marker');
    this.flush();
  }

  /** Input bytes the bit reader has not touched yet (it counts a byte as
   * read as soon as it takes its first bit). */
  private available(): number {
    return this.bits === null ? 0 : this.received - this.bits.bytesRead;
  }

  private step(): void {
    const bits = this.bits;
    if (bits === null) return;
    if (this.level === 0) {
      this.level = bzip2.header(bits);
      this.streamCrc = 0;
      const size = 100_000 * this.level;
      if (this.work === null || this.work.length < size) this.work = new Int32Array(size);
      return;
    }
    const work = this.work ?? new Int32Array(0);
    this.streamCrc = bzip2.decompress(bits, this.emitByte, work, 100_000 * this.level, this.streamCrc ?? 0);
    this.flush();
    // End-of-stream marker: a concatenated stream may follow.
    if (this.streamCrc === null) this.level = 0;
  }

  private flush(): void {
    if (this.outLength === 0) return;
    const length = this.outLength;
    this.outLength = 0;
    this.onData(this.out.subarray(0, length));
  }
}
