/**
 * The initial run-length pass undone over a block's bytes (from inverse-bwt.ts), written out in
 * 64 KiB slices of one reusable buffer; the CRC of what was written is checked by the stream.
 *
 * The whole block is walked before this pass hands out anything: the XML parsing each slice sets
 * off (with its allocations) would otherwise run in the middle of the walk and evict its table
 * from the cache (bench/results/openscap-profile.md).
 */
import { updateCrc } from './crc.ts';

const OUT_SIZE = 64 * 1024;

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

  /**
   * Undoes the initial run-length pass over the block's bytes, writes out, returns the CRC. After
   * four equal bytes the next one counts further copies (0–255), and the count starts over: so
   * the stretches between such runs are copied as they are, and only the runs are looked for.
   */
  emit(block: Uint8Array, nblock: number): number {
    this.#crc = -1;
    let from = 0;
    let at = 0;
    // Looking for 4 equal bytes from `at`: if the last two of the window differ, no run can start
    // in its first three places, and so on (about one comparison per three bytes of XML).
    const last = nblock - 3;
    while (at < last) {
      const byte = block[at + 2] as number;
      if (block[at + 3] !== byte) at += 3;
      else if (block[at + 1] !== byte) at += 2;
      else if (block[at] !== byte) at += 1;
      else {
        this.#copy(block, from, at + 4);
        if (at + 4 === nblock) return this.#end();
        this.#repeat(byte, block[at + 4] as number);
        at += 5;
        from = at;
      }
    }
    this.#copy(block, from, nblock);
    return this.#end();
  }

  #end(): number {
    this.flush();
    return ~this.#crc >>> 0;
  }

  /** `block[from, to)` into the output. */
  #copy(block: Uint8Array, from: number, to: number): void {
    let start = from;
    while (start < to) {
      const count = Math.min(to - start, OUT_SIZE - this.#length);
      // Short stretches in a loop: below a few dozen bytes that beats a view and a copy call.
      if (count < 32) {
        const out = this.#out;
        for (let i = 0, length = this.#length; i < count; i += 1) out[length + i] = block[start + i] as number;
      } else this.#out.set(block.subarray(start, start + count), this.#length);
      this.#length += count;
      start += count;
      if (this.#length === OUT_SIZE) this.flush();
    }
  }

  /** `count` more copies of `byte`. */
  #repeat(byte: number, count: number): void {
    const out = this.#out;
    for (let k = 0; k < count; k += 1) {
      out[this.#length++] = byte;
      if (this.#length === OUT_SIZE) this.flush();
    }
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
