/**
 * The inverse Burrows–Wheeler transform and the initial run-length pass undone, written out in
 * 64 KiB slices of one reusable buffer; the CRC of what was written is checked by the stream.
 *
 * The inverse BWT is a chain of dependent loads spread over a block's 3.6 MB table: each step
 * waits for a cache miss, and it is most of the decoder's time. The block is therefore walked
 * from both ends at once, forwards from its first byte and backwards from its last (the LF
 * mapping, which the table's set-up computes anyway): two independent chains keep two misses in
 * flight. The block's bytes land in one reused buffer, then the run-length pass reads it in order.
 */
import { updateCrc } from './crc.ts';
import { corrupt } from './errors.ts';

const OUT_SIZE = 64 * 1024;

/**
 * Links `tt` into the BWT chain: each entry keeps its byte in the low 8 bits and gets the index
 * of the next one above them; `lf` gets, per entry, the index of the previous one above the same
 * byte. Returns where the forward chain starts (the backward one starts at `origPtr`).
 */
export function inverseBwt(tt: Uint32Array, lf: Uint32Array, nblock: number, counts: Int32Array, origPtr: number): number {
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
    lf[i] = ((at << 8) | byte) >>> 0;
  }
  return (tt[origPtr] as number) >>> 8;
}

/** The block's bytes (before the run-length pass) into `block`, walking both chains at once. */
export function walkBlock(tt: Uint32Array, lf: Uint32Array, nblock: number, start: number, origPtr: number, block: Uint8Array): void {
  let forward = start;
  let backward = origPtr;
  const half = nblock >>> 1;
  for (let front = 0, back = nblock - 1; front < half; front += 1, back -= 1) {
    const ahead = tt[forward] as number;
    const behind = lf[backward] as number;
    block[front] = ahead & 0xff;
    block[back] = behind & 0xff;
    forward = ahead >>> 8;
    backward = behind >>> 8;
  }
  if (nblock & 1) block[half] = (tt[forward] as number) & 0xff;
}

export class BlockOutput {
  readonly #onData: (bytes: Buffer) => void;
  readonly #out = Buffer.allocUnsafe(OUT_SIZE);
  #length = 0;
  /** The running CRC of the block being written: each slice is folded in as it is handed out. */
  #crc = -1;
  /** Bytes handed out so far, for the stream's expansion check. */
  emitted = 0;

  constructor(onData: (bytes: Buffer) => void) {
    this.#onData = onData;
  }

  /** Undoes the initial run-length pass over the block's bytes, writes out, returns the CRC. */
  emit(block: Uint8Array, nblock: number): number {
    this.#crc = -1;
    // Locals, not fields, in this loop: it runs once per output byte.
    const out = this.#out;
    let length = this.#length;
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
