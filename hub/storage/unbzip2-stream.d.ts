// unbzip2-stream ships no typings. We drive its block decoder directly (see
// hub/storage/bunzip2.ts) rather than its `through` stream, which collects every block
// into a plain JS array of numbers (~11 MB of live heap per 900 kB block).
declare module 'unbzip2-stream/lib/bit_iterator.js' {
  /** Reads n bits (MSB first); `null` aligns to the next byte. Pulls input
   * buffers from `nextBuffer` as it goes and counts bytes touched. */
  interface BitReader {
    (n: number | null): number;
    bytesRead: number;
  }
  export type { BitReader };
  export default function bitIterator(nextBuffer: () => Uint8Array | undefined): BitReader;
}

declare module 'unbzip2-stream/lib/bzip2.js' {
  import type { BitReader } from 'unbzip2-stream/lib/bit_iterator.js';

  interface Bzip2 {
    /** Checks the "BZh" magic; returns the block size level 1..9. */
    header(bits: BitReader): number;
    /** Decodes one block, calling `out` per byte; returns the running stream
     * CRC, or null at the end-of-stream marker. Throws on corrupt data. */
    decompress(bits: BitReader, out: (byte: number) => void, buf: Int32Array, bufsize: number, streamCRC: number): number | null;
  }
  const bzip2: Bzip2;
  export default bzip2;
}
