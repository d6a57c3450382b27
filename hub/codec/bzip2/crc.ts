/** bzip2's CRC-32 (the big-endian polynomial 0x04c11db7), a byte at a time from this table. */
export const CRC_TABLE = (() => {
  const table = new Int32Array(256);
  for (let i = 0; i < 256; i += 1) {
    let c = i << 24;
    for (let k = 0; k < 8; k += 1) c = c & 0x80000000 ? (c << 1) ^ 0x04c11db7 : c << 1;
    table[i] = c;
  }
  return table;
})();

/**
 * The same table extended for four bytes at a time (slicing-by-4): `CRC_TABLES[k]` is the CRC of
 * a byte followed by k zero bytes. Over a buffer it takes about a third of the byte-at-a-time
 * loop's time, whose every step waits for the previous one's table load.
 */
const CRC_TABLES = (() => {
  const next = (previous: Int32Array): Int32Array => previous.map((c) => (c << 8) ^ (CRC_TABLE[c >>> 24] as number));
  const t1 = next(CRC_TABLE);
  const t2 = next(t1);
  return [CRC_TABLE, t1, t2, next(t2)] as const;
})();

/** Folds `bytes[0, length)` into `crc` (the running value, not yet inverted). */
export function updateCrc(crc: number, bytes: Uint8Array, length: number): number {
  const [t0, t1, t2, t3] = CRC_TABLES;
  let c = crc | 0;
  let i = 0;
  for (const end = length - 3; i < end; i += 4) {
    const x = c ^ (((bytes[i] as number) << 24) | ((bytes[i + 1] as number) << 16) | ((bytes[i + 2] as number) << 8) | (bytes[i + 3] as number));
    c = (t3[x >>> 24] as number) ^ (t2[(x >>> 16) & 0xff] as number) ^ (t1[(x >>> 8) & 0xff] as number) ^ (t0[x & 0xff] as number);
  }
  for (; i < length; i += 1) c = (c << 8) ^ (t0[((c >>> 24) ^ (bytes[i] as number)) & 0xff] as number);
  return c;
}

/** The stream CRC folds in each block's CRC. */
export function combineStreamCrc(streamCrc: number, blockCrc: number): number {
  return (((streamCrc << 1) | (streamCrc >>> 31)) ^ blockCrc) >>> 0;
}
