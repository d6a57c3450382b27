/**
 * Big-endian bit reading over one buffer, from a 32-bit window refilled a byte at a time. The
 * fields are public so the symbol decoder's hot loop can take them into locals and hand them back.
 */
import { Truncated } from './errors.ts';

export class BitReader {
  data: Buffer = Buffer.alloc(0);
  bytePos = 0;
  bitBuf = 0;
  bitCount = 0;

  /** Starts over on `data`, `bitOffset` bits in. */
  reset(data: Buffer, bitOffset: number): void {
    this.data = data;
    this.bytePos = 0;
    this.bitBuf = 0;
    this.bitCount = 0;
    this.skip(bitOffset);
  }

  /** Bits consumed from `data` so far. */
  position(): number {
    return this.bytePos * 8 - this.bitCount;
  }

  bits(n: number): number {
    if (n > 24) return this.bits(n - 16) * 0x10000 + this.bits(16);
    if (this.bitCount < n) this.#refill();
    this.bitCount -= n;
    const value = (this.bitBuf >>> this.bitCount) & ((1 << n) - 1);
    if (this.position() > this.data.length * 8) throw new Truncated('input ended inside a block');
    return value;
  }

  skip(n: number): void {
    for (let left = n; left > 0; left -= 16) this.bits(Math.min(16, left));
  }

  #refill(): void {
    const data = this.data;
    while (this.bitCount <= 24) {
      if (this.bytePos >= data.length) {
        // Past the end: zeros, so a peek near the end works; reading them is caught in bits().
        this.bitBuf = (this.bitBuf << 8) >>> 0;
        this.bytePos += 1;
      } else this.bitBuf = ((this.bitBuf << 8) | (data[this.bytePos++] as number)) >>> 0;
      this.bitCount += 8;
    }
  }
}
