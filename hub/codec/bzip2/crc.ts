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
 * The same table extended for eight bytes at a time (slicing-by-8): `CRC_TABLES[k]` is the CRC of
 * a byte followed by k zero bytes. The byte-at-a-time loop waits for one table load per byte;
 * here the eight loads of a step are independent of each other.
 */
const CRC_TABLES = (() => {
  const tables = [CRC_TABLE];
  for (let k = 1; k < 8; k += 1) tables.push((tables[k - 1] as Int32Array).map((c) => (c << 8) ^ (CRC_TABLE[c >>> 24] as number)));
  return tables as [Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array];
})();

/** Folds `bytes[0, length)` into `crc` (the running value, not yet inverted). */
export function updateCrc(crc: number, bytes: Uint8Array, length: number): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = CRC_TABLES;
  // Big-endian 32-bit reads (the CRC takes the first byte as the highest): fewer loads than bytes.
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let c = crc | 0;
  let i = 0;
  for (const end = length - 7; i < end; i += 8) {
    const high = c ^ view.getInt32(i);
    const low = view.getInt32(i + 4);
    c =
      (t7[high >>> 24] as number) ^ (t6[(high >>> 16) & 0xff] as number) ^ (t5[(high >>> 8) & 0xff] as number) ^ (t4[high & 0xff] as number) ^
      (t3[low >>> 24] as number) ^ (t2[(low >>> 16) & 0xff] as number) ^ (t1[(low >>> 8) & 0xff] as number) ^ (t0[low & 0xff] as number);
  }
  for (; i < length; i += 1) c = (c << 8) ^ (t0[((c >>> 24) ^ (bytes[i] as number)) & 0xff] as number);
  return c;
}

/** The stream CRC folds in each block's CRC. */
export function combineStreamCrc(streamCrc: number, blockCrc: number): number {
  return (((streamCrc << 1) | (streamCrc >>> 31)) ^ blockCrc) >>> 0;
}
