/**
 * The ARF upload streamed into its message body: whatever the chunking and whether or not the
 * length was declared, the body is the envelope's JSON with the exact bytes in `data.arf`; the
 * first bytes decide whether it is bzip2; the limit holds while streaming.
 */
import { randomBytes } from 'node:crypto';
import t from 'tap';
import { createEvent } from '../../contracts/events/create-event.ts';
import { decodeEvent } from '../../hub/bus/event-codec.ts';
import { ArfMessage } from '../../hub/ingress/arf-message.ts';
import { arfFixtures } from '../helpers/arf.ts';

const envelope = () => createEvent('openscap.arf.uploaded.v1', { policyId: 7, cname: 'h.example.com', reportedAt: 1_700_000_000, arf: '' }, { source: 'test', clientcn: 'h.example.com' });

function stream(bytes: Buffer, chunkSizes: () => number, declared: number | undefined, limit = 1 << 30): Buffer {
  const message = new ArfMessage(envelope(), limit, declared);
  for (let at = 0; at < bytes.length; ) {
    const size = Math.max(1, chunkSizes());
    message.append(bytes.subarray(at, at + size));
    at += size;
  }
  return message.finish();
}

const fixture = arfFixtures().find((f) => f.name.includes('rhel7'));
if (!fixture) throw new Error('the large ARF fixture is missing');

for (const [label, sizes] of [['1-byte chunks', () => 1], ['random chunks', () => Math.floor(Math.random() * 70_000)], ['one chunk', () => Number.MAX_SAFE_INTEGER]] as const) {
  for (const declared of [fixture.bzip2.length, undefined]) {
    t.test(`${label}, ${declared === undefined ? 'no Content-Length' : 'Content-Length'}: the bytes arrive intact in a valid event`, async (t) => {
      const body = stream(fixture.bzip2, sizes, declared);
      const event = decodeEvent({ body });
      t.equal(event.type, 'openscap.arf.uploaded.v1');
      if (event.type !== 'openscap.arf.uploaded.v1') return;
      t.ok(Buffer.from(event.data.arf, 'base64').equals(fixture.bzip2), 'base64 of exactly the uploaded bytes');
      t.same({ ...event.data, arf: '' }, { policyId: 7, cname: 'h.example.com', reportedAt: 1_700_000_000, arf: '' });
    });
  }
}

t.test('with a declared length the buffer is allocated once at its final size', async (t) => {
  const body = stream(fixture.bzip2, () => 65_536, fixture.bzip2.length);
  t.equal(body.byteOffset, 0);
  t.equal(body.buffer.byteLength, body.length, 'the backing buffer is exactly the body: no growth, no slack');
});

t.test('not bzip2: refused on the first bytes', async (t) => {
  const message = new ArfMessage(envelope(), 1 << 20, undefined);
  t.throws(() => message.append(Buffer.from('<?xml version="1.0"?>')), { code: 'PROXYHUB_INPUT_INVALID', field: 'body' });
  const magicLater = new ArfMessage(envelope(), 1 << 20, undefined);
  magicLater.append(Buffer.from('BZh9'));
  t.throws(() => magicLater.append(randomBytes(20)), { code: 'PROXYHUB_INPUT_INVALID' }, 'a bzip2 header followed by no block magic');
  const short = new ArfMessage(envelope(), 1 << 20, undefined);
  short.append(Buffer.from('BZh'));
  t.throws(() => short.finish(), { code: 'PROXYHUB_INPUT_INVALID' }, 'too short to be bzip2');
  t.throws(() => new ArfMessage(envelope(), 1 << 20, undefined).finish(), { code: 'PROXYHUB_INPUT_INVALID', message: /empty/ });
});

t.test('the limit holds while streaming, without a declared length', async (t) => {
  const message = new ArfMessage(envelope(), 100_000, undefined);
  message.append(fixture.bzip2.subarray(0, 60_000));
  t.throws(() => message.append(fixture.bzip2.subarray(60_000, 120_000)), { code: 'PROXYHUB_INPUT_TOO_LARGE' });
});

t.test('the envelope must leave arf empty for the bytes', async (t) => {
  const filled = createEvent('openscap.arf.uploaded.v1', { policyId: 1, cname: 'h', reportedAt: 1, arf: 'QQ==' }, { source: 'test' });
  t.throws(() => new ArfMessage(filled, 100, undefined));
});
