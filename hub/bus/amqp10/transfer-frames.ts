/**
 * rhea writes each outgoing frame through its generic encoder: a 1 KiB scratch buffer, grown and
 * copied once the payload does not fit, the performative's fields walked as typed objects, the
 * list written into a buffer of its own, and the frame sliced out at the end. For a transfer,
 * one per published message, that was about 4 % of the AMQP 1.0 ingress's CPU in a profile
 * under a fixed load (2026-12-06). A transfer with the fields rhea's sender sets (handle, delivery-id,
 * delivery-tag, message-format, settled, more) is written here instead, straight into one buffer
 * of its final size, with the same bytes; any other frame, or a transfer with any other field,
 * goes through rhea's encoder as before. tests/unit/amqp10-transfer-frames.test.ts compares the
 * two byte for byte.
 *
 * rhea reads `frames.write_frame` from its module object at every write, so replacing it there
 * reaches every connection of the process (`installTransferFrames`, idempotent; connection.ts
 * calls it). tests/integration/amqp10-transfer-frames.test.ts sends through rhea to the broker
 * and counts the frames written here, so a rhea that stopped calling it would be noticed.
 */
import { createRequire } from 'node:module';
import { Bytes, CODE, smallestUintSize, variableSize } from './amqp-bytes.ts';

/** A value of rhea's typed-value model (`types.Typed`): its AMQP type code and its raw value. */
interface TypedValue {
  readonly type?: { readonly typecode?: number };
  readonly value: unknown;
}

interface Performative {
  readonly value: readonly TypedValue[];
}

/** What rhea's transport hands `write_frame`. */
export interface RheaFrame {
  readonly type: number;
  readonly channel: number;
  readonly performative?: Performative;
  readonly payload?: Buffer;
}

interface RheaFrames {
  TYPE_AMQP: number;
  transfer(fields: Record<string, unknown>): Performative;
  write_frame(frame: RheaFrame): Buffer;
}

// rhea ships no typings for its frame module; it is CommonJS, loaded as rhea's own files load it.
const frames = createRequire(import.meta.url)('rhea/lib/frames.js') as RheaFrames;

/** rhea's own encoder, kept for every frame this module does not write. */
export const rheaWriteFrame: (frame: RheaFrame) => Buffer = frames.write_frame.bind(frames);

const TRANSFER = frames.transfer({ handle: 0 }).constructor;
/** The transfer performative's descriptor, as a small ulong (part 2.7.5). */
const TRANSFER_CODE = 0x14;
/** Fixed frame header: size, data offset, frame type, channel. */
const FRAME_HEADER_BYTES = 8;
/** The data offset in 4-byte words: the performative follows the 8-byte header at once. */
const DATA_OFFSET_WORDS = 2;
/** The transfer fields rhea's sender sets, in the list's order. */
const FIELDS = 6;

export interface PlainTransfer {
  readonly handle: number;
  readonly deliveryId: number;
  readonly tag: Buffer;
  readonly format: number;
  readonly settled: boolean;
  readonly more: boolean;
}

/** The AMQP types rhea's sender gives each field, by type code: anything else is rhea's to write. */
const UINT_CODES: ReadonlySet<number> = new Set([CODE.uint0, CODE.smalluint, CODE.uint]);
const BINARY_CODES: ReadonlySet<number> = new Set([CODE.vbin8, CODE.vbin32]);
const BOOLEAN_CODES: ReadonlySet<number> = new Set([CODE.true, CODE.false]);

/** A field's AMQP type code; -1 (no such code) for a hole or anything that is not rhea's typed value. */
const typeCode = (typed: TypedValue | undefined): number => typed?.type?.typecode ?? -1;
const uintOf = (typed: TypedValue | undefined): number | undefined => {
  const value = typed?.value;
  return UINT_CODES.has(typeCode(typed)) && typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 0xffffffff ? value : undefined;
};
const binaryOf = (typed: TypedValue | undefined): Buffer | undefined => (BINARY_CODES.has(typeCode(typed)) && Buffer.isBuffer(typed?.value) ? typed.value : undefined);
const booleanOf = (typed: TypedValue | undefined): boolean | undefined => (BOOLEAN_CODES.has(typeCode(typed)) && typeof typed?.value === 'boolean' ? typed.value : undefined);

/** The six fields of a transfer, or undefined for any frame this module leaves to rhea. */
export function plainTransfer(frame: RheaFrame): PlainTransfer | undefined {
  const performative = frame.performative;
  if (frame.type !== frames.TYPE_AMQP || performative === undefined || performative.constructor !== TRANSFER || performative.value.length !== FIELDS) return undefined;
  if (frame.payload !== undefined && !Buffer.isBuffer(frame.payload)) return undefined;
  const [handle, deliveryId, tag, format, settled, more] = [uintOf(performative.value[0]), uintOf(performative.value[1]), binaryOf(performative.value[2]), uintOf(performative.value[3]), booleanOf(performative.value[4]), booleanOf(performative.value[5])];
  if (handle === undefined || deliveryId === undefined || tag === undefined || format === undefined || settled === undefined || more === undefined) return undefined;
  return { handle, deliveryId, tag, format, settled, more };
}

/** The frame's bytes, exactly as rhea's encoder writes them. */
export function writeTransferFrame(channel: number, transfer: PlainTransfer, payload: Buffer | undefined): Buffer {
  const elements = smallestUintSize(transfer.handle) + smallestUintSize(transfer.deliveryId) + variableSize(transfer.tag.length) + smallestUintSize(transfer.format) + 2;
  const size = FRAME_HEADER_BYTES + 3 + 9 + elements + (payload?.length ?? 0);
  const out = new Bytes(size);
  out.uint32(size);
  out.byte(DATA_OFFSET_WORDS);
  out.byte(frames.TYPE_AMQP);
  out.uint16(channel);
  out.descriptor(TRANSFER_CODE);
  out.compound(CODE.list32, elements, FIELDS);
  out.smallestUint(transfer.handle);
  out.smallestUint(transfer.deliveryId);
  out.prefix(transfer.tag.length, CODE.vbin8, CODE.vbin32);
  out.copy(transfer.tag);
  out.smallestUint(transfer.format);
  out.boolean(transfer.settled);
  out.boolean(transfer.more);
  if (payload !== undefined) out.copy(payload);
  return out.filled('transfer frame');
}

let written = 0;

/** Transfer frames written here since the process started (the integration test reads it). */
export function transferFramesWritten(): number {
  return written;
}

/** What rhea's transport calls for every frame it sends. */
export function writeFrame(frame: RheaFrame): Buffer {
  const transfer = plainTransfer(frame);
  if (transfer === undefined) return rheaWriteFrame(frame);
  written += 1;
  return writeTransferFrame(frame.channel, transfer, frame.payload);
}

/** Makes rhea write its transfer frames here; once per process, whoever asks first. */
export function installTransferFrames(): void {
  frames.write_frame = writeFrame;
}
