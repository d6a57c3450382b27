/**
 * AMQP 1.0 values written straight into a buffer of known size (the type system of the spec's
 * part 1), for the two encoders that bypass rhea's: messages (message-bytes.ts) and transfer
 * frames (transfer-frames.ts). Each writes the form rhea would choose, so that their bytes can be
 * checked against rhea's.
 */

/** The constructors of part 1 of the spec that proxyhub writes. */
export const CODE = {
  described: 0x00,
  smallulong: 0x53,
  null: 0x40,
  true: 0x41,
  false: 0x42,
  uint0: 0x43,
  smalluint: 0x52,
  uint: 0x70,
  int: 0x71,
  timestamp: 0x83,
  vbin8: 0xa0,
  vbin32: 0xb0,
  str8: 0xa1,
  str32: 0xb1,
  sym8: 0xa3,
  sym32: 0xb3,
  list32: 0xd0,
  map32: 0xd1,
} as const;

/** The longest string, symbol or binary written with a one-byte length. */
const SHORT_MAX = 0xff;

/**
 * A string, symbol or binary of so many bytes, with its constructor and length: a one-byte
 * length up to 255 bytes, a four-byte one beyond (`Bytes.prefix` writes the same choice).
 */
export function variableSize(bytes: number): number {
  return (bytes <= SHORT_MAX ? 2 : 5) + bytes;
}

/** A uint in rhea's smallest form: uint0 for 0, smalluint up to 255, uint beyond (`Bytes.smallestUint`). */
export function smallestUintSize(value: number): number {
  return value === 0 ? 1 : value <= 0xff ? 2 : 5;
}

export class Bytes {
  readonly buffer: Buffer;
  offset = 0;

  constructor(size: number) {
    this.buffer = Buffer.allocUnsafe(size);
  }

  byte(value: number): void {
    this.buffer[this.offset++] = value;
  }

  uint16(value: number): void {
    this.buffer.writeUInt16BE(value, this.offset);
    this.offset += 2;
  }

  uint32(value: number): void {
    this.buffer.writeUInt32BE(value, this.offset);
    this.offset += 4;
  }

  int32(value: number): void {
    this.buffer.writeInt32BE(value, this.offset);
    this.offset += 4;
  }

  int64(value: bigint): void {
    this.buffer.writeBigInt64BE(value, this.offset);
    this.offset += 8;
  }

  boolean(value: boolean): void {
    this.byte(value ? CODE.true : CODE.false);
  }

  smallestUint(value: number): void {
    if (value === 0) {
      this.byte(CODE.uint0);
    } else if (value <= 0xff) {
      this.byte(CODE.smalluint);
      this.byte(value);
    } else {
      this.byte(CODE.uint);
      this.uint32(value);
    }
  }

  /** The constructor and length of a variable-width value: the short form up to 255 bytes. */
  prefix(bytes: number, short: number, long: number): void {
    if (bytes <= SHORT_MAX) {
      this.byte(short);
      this.byte(bytes);
    } else {
      this.byte(long);
      this.uint32(bytes);
    }
  }

  /** Bytes as they are (a binary's after its prefix, a payload). */
  copy(bytes: Buffer): void {
    this.offset += bytes.copy(this.buffer, this.offset);
  }

  /** A string or symbol. */
  text(value: string, short: number, long: number): void {
    this.prefix(Buffer.byteLength(value), short, long);
    this.offset += this.buffer.write(value, this.offset, 'utf8');
  }

  string(value: string): void {
    this.text(value, CODE.str8, CODE.str32);
  }

  /** A descriptor given as a small ulong: a section's (part 3.2) or a performative's (part 2.7). */
  descriptor(code: number): void {
    this.byte(CODE.described);
    this.byte(CODE.smallulong);
    this.byte(code);
  }

  /** A list32 or map32 whose elements follow: its size field counts the count field and them. */
  compound(code: number, elementBytes: number, count: number): void {
    this.byte(code);
    this.uint32(4 + elementBytes);
    this.uint32(count);
  }

  /** The buffer, once exactly filled: a size worked out wrong must not send uninitialised bytes. */
  filled(what: string): Buffer {
    if (this.offset !== this.buffer.length) throw new Error(`AMQP 1.0 ${what} encoding wrote ${this.offset} of ${this.buffer.length} bytes`);
    return this.buffer;
  }
}
