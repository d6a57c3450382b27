/**
 * The inverse Burrows–Wheeler transform and the initial run-length pass undone, written out in
 * 64 KiB slices of one reusable buffer; the CRC of what was written is checked by the stream.
 *
 * The transform is a chain of dependent loads over the block's 3.6 MB table, fast only while the
 * table stays in cache. So the whole block is walked first, into a byte buffer, and only then
 * run-length decoded and handed out: the XML parsing each slice sets off (with its allocations)
 * would otherwise run in the middle of the walk and evict the table, which made the walk three
 * times as slow as on its own (bench/results/openscap-profile.md).
 */
import { updateCrc } from './crc.ts';
import { corrupt } from './errors.ts';

const OUT_SIZE = 64 * 1024;

/**
 * Links `tt` into the BWT chain: each entry keeps its byte in the low 8 bits and gets the index
 * of the next one above them. Returns where the chain starts.
 */
export function inverseBwt(tt: Uint32Array, nblock: number, counts: Int32Array, origPtr: number): number {
  if (origPtr >= nblock) throw corrupt('bzip2 data is corrupt: origin pointer outside the block');
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
  return (tt[origPtr] as number) >>> 8;
}

/** The block's bytes before the run-length pass, in order, from the chain starting at `start`. */
export function walkBlock(tt: Uint32Array, nblock: number, start: number, block: Uint8Array): void {
  let pointer = start;
  for (let i = 0; i < nblock; i += 1) {
    const entry = tt[pointer] as number;
    block[i] = entry & 0xff;
    pointer = entry >>> 8;
  }
}

export class BlockOutput {
  readonly #onData: (bytes: Buffer) => void;
  readonly #out = Buffer.allocUnsafe(OUT_SIZE);
  #length = 0;
  /** The running CRC of the block being written, folded over each slice as it is handed out. */
  #crc = -1;
  /** Bytes handed out so far, for the stream's expansion check. */
  emitted = 0;

  constructor(onData: (bytes: Buffer) => void) {
    this.#onData = onData;
  }

  /** Undoes the initial run-length pass over the block's bytes, writes out, returns the CRC. */
  emit(block: Uint8Array, nblock: number): number {
    // Locals, not fields, in this loop: it runs once per output byte.
    const out = this.#out;
    let length = this.#length;
    this.#crc = -1;
    let previous = -1;
    let same = 0;
    for (let i = 0; i < nblock; i += 1) {
      const byte = block[i] as number;
      if (same !== 4) {
        same = byte === previous ? same + 1 : 1;
        previous = byte;
        out[length++] = byte;
        if (length === OUT_SIZE) length = this.#flushFull();
        continue;
      }
      // After four equal bytes the next one counts further copies (0–255); a new run follows.
      same = 0;
      for (let k = 0; k < byte; k += 1) {
        out[length++] = previous;
        if (length === OUT_SIZE) length = this.#flushFull();
      }
      previous = -1;
    }
    this.#length = length;
    this.flush();
    return ~this.#crc >>> 0;
  }

  /** Hands out a full buffer; returns the new fill (0). */
  #flushFull(): number {
    this.#length = OUT_SIZE;
    this.flush();
    return 0;
  }

  flush(): void {
    if (this.#length === 0) return;
    const length = this.#length;
    this.#length = 0;
    this.emitted += length;
    this.#crc = updateCrc(this.#crc, this.#out, length);
    this.#onData(this.#out.subarray(0, length));
  }
}
