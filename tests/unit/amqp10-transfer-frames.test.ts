/**
 * Transfer frames written without rhea's encoder (hub/bus/amqp10/transfer-frames.ts) are the
 * bytes rhea's encoder writes, for every width of every field; any other frame is rhea's own.
 */
import { createRequire } from 'node:module';
import t from 'tap';
import { installTransferFrames, plainTransfer, rheaWriteFrame, writeFrame, type RheaFrame } from '../../hub/bus/amqp10/transfer-frames.ts';

const frames = createRequire(import.meta.url)('rhea/lib/frames.js') as {
  amqp_frame(channel: number, performative: unknown, payload?: Buffer): RheaFrame;
  transfer(fields: Record<string, unknown>): { value: unknown[] };
  flow(fields: Record<string, unknown>): unknown;
  disposition(fields: Record<string, unknown>): unknown;
  write_frame: (frame: RheaFrame) => Buffer;
};

const types = createRequire(import.meta.url)('rhea/lib/types.js') as { wrap_ulong(value: number): unknown; wrap_string(value: string): unknown; Null(): unknown };

/** A transfer as rhea's sender builds it, with one field's typed value replaced. */
function withField(index: number, typed: unknown): unknown {
  const performative = frames.transfer(transfer({}));
  performative.value[index] = typed;
  return performative;
}

const transfer = (fields: Record<string, unknown>): Record<string, unknown> => ({ handle: 0, message_format: 0, delivery_id: 0, delivery_tag: Buffer.from('0'), settled: false, more: false, ...fields });

t.test('rhea writes through this module once it is installed', async (t) => {
  t.not(rheaWriteFrame, writeFrame, "rhea's own encoder is kept apart, so the comparisons below compare two encoders");
  installTransferFrames();
  t.equal(frames.write_frame, writeFrame);
});

t.test('a transfer as rhea sends it: the same bytes for every width of every field', async (t) => {
  const cases: Array<[string, number, Record<string, unknown>, Buffer | undefined]> = [
    ['zeros, empty body', 0, transfer({}), Buffer.alloc(0)],
    ['a message, as the publisher sends it', 1, transfer({ handle: 1, delivery_id: 41, delivery_tag: Buffer.from('41') }), Buffer.alloc(1300, 7)],
    ['small uints at 255', 255, transfer({ handle: 255, delivery_id: 255, message_format: 255 }), Buffer.from('x')],
    ['uints past 255', 300, transfer({ handle: 256, delivery_id: 70_000, message_format: 0x80013700 }), Buffer.from('x')],
    ['the largest uint and channel', 65_535, transfer({ handle: 0xffffffff, delivery_id: 0xffffffff }), Buffer.from('x')],
    ['settled, more to come', 2, transfer({ settled: true, more: true }), Buffer.alloc(70_000, 1)],
    ['a 255-byte tag', 0, transfer({ delivery_tag: Buffer.alloc(255, 2) }), Buffer.from('x')],
    ['a 256-byte tag', 0, transfer({ delivery_tag: Buffer.alloc(256, 3) }), Buffer.from('x')],
    ['an empty tag', 0, transfer({ delivery_tag: Buffer.alloc(0) }), Buffer.from('x')],
    ['no payload', 0, transfer({}), undefined],
  ];
  for (const [name, channel, fields, payload] of cases) {
    const frame = frames.amqp_frame(channel, frames.transfer(fields), payload);
    t.ok(plainTransfer(frame), `${name}: written here`);
    t.strictSame(writeFrame(frame), rheaWriteFrame(frame), name);
  }
});

t.test('anything else is left to rhea', async (t) => {
  const others: Array<[string, RheaFrame]> = [
    ['a transfer with a field rhea only sets elsewhere', frames.amqp_frame(0, frames.transfer(transfer({ rcv_settle_mode: 1 })), Buffer.from('x'))],
    ['a transfer without a delivery id (a continuation)', frames.amqp_frame(0, frames.transfer({ handle: 0, more: false }), Buffer.from('x'))],
    ['a flow', frames.amqp_frame(0, frames.flow({ next_incoming_id: 1, incoming_window: 2048, next_outgoing_id: 1, outgoing_window: 2048 }))],
    ['a disposition', frames.amqp_frame(0, frames.disposition({ role: true, first: 3, last: 9, settled: true }))],
    ['an empty frame (a heartbeat)', { type: 0, channel: 0 }],
    ['a SASL frame', { type: 1, channel: 0 }],
    ['a transfer whose handle is a ulong', frames.amqp_frame(0, withField(0, types.wrap_ulong(1)), Buffer.from('x'))],
    ['a transfer with a null delivery id', frames.amqp_frame(0, withField(1, types.Null()), Buffer.from('x'))],
    ['a transfer whose tag is a string', frames.amqp_frame(0, withField(2, types.wrap_string('0')), Buffer.from('x'))],
    ['a transfer with a null payload', { ...frames.amqp_frame(0, frames.transfer(transfer({}))), payload: null as unknown as Buffer }],
  ];
  for (const [name, frame] of others) {
    t.equal(plainTransfer(frame), undefined, `${name}: not written here`);
    t.strictSame(writeFrame(frame), rheaWriteFrame(frame), name);
  }
});
