/**
 * Streams an ARF upload straight into the message body that will be published: the envelope's
 * JSON up to the `arf` field, then the bzip2 bytes base64-encoded chunk by chunk as they arrive,
 * then the closing characters. The upload is held once, in the one buffer the broker is sent,
 * never as a request buffer plus a base64 string plus a JSON string.
 */
import type { Envelope } from '../../contracts/envelope.ts';
import type { ArfUpload } from '../../contracts/events/arf-uploaded.ts';
import { ProxyhubError } from '../../contracts/errors.ts';

/** Where a body of unknown length starts; it doubles as it fills. */
const INITIAL_CAPACITY = 256 * 1024;
/** The most allocated on a client's word (its Content-Length) before bytes arrive. */
const MAX_UPFRONT_BYTES = 8 * 1024 * 1024;
/** "BZh" then the block size digit: every bzip2 stream starts so. */
const BZIP2_HEADER = /^BZh[1-9]$/;
/** After the header: a block (π) or, for an empty stream, the end-of-stream marker (√π). */
const BLOCK_MAGIC = Buffer.from([0x31, 0x41, 0x59, 0x26, 0x53, 0x59]);
const END_OF_STREAM_MAGIC = Buffer.from([0x17, 0x72, 0x45, 0x38, 0x50, 0x90]);
const SNIFF_BYTES = 10;

const base64Length = (bytes: number): number => Math.ceil(bytes / 3) * 4;

/** Splits the envelope's JSON at the (empty, last) `arf` string, where the bytes go. */
function framing(envelope: Envelope<string, ArfUpload>): { prefix: Buffer; suffix: Buffer } {
  if (envelope.data.arf !== '') throw new Error('the envelope must carry an empty arf field');
  const json = JSON.stringify(envelope);
  const marker = '"arf":""';
  const at = json.lastIndexOf(marker);
  // `data` is the envelope's last attribute and `arf` the last field of data: only `}}` follows.
  if (at < 0 || json.slice(at + marker.length) !== '}}') throw new Error('arf must be the last field of the envelope');
  return { prefix: Buffer.from(json.slice(0, at + marker.length - 1)), suffix: Buffer.from('"}}') };
}

export class ArfMessage {
  readonly #suffix: Buffer;
  readonly #limit: number;
  #buffer: Buffer;
  #length: number;
  /** Up to two bytes that did not make a whole base64 quantum yet. */
  #carry: Buffer = Buffer.alloc(0);
  #sniffed: Buffer = Buffer.alloc(0);
  #received = 0;

  /**
   * @param declaredLength the request's Content-Length when it sent one: the buffer is then
   *   allocated once at its final size.
   */
  constructor(envelope: Envelope<string, ArfUpload>, limit: number, declaredLength: number | undefined) {
    const { prefix, suffix } = framing(envelope);
    this.#suffix = suffix;
    this.#limit = limit;
    // A declared length sizes the buffer, up to a cap: a client that declares 64 MiB and sends
    // nothing must not pin 85 MB per connection; a larger upload grows once past the cap.
    const capacity = prefix.length + base64Length(Math.min(declaredLength ?? INITIAL_CAPACITY, limit, MAX_UPFRONT_BYTES)) + suffix.length;
    this.#buffer = Buffer.allocUnsafe(capacity);
    this.#length = prefix.copy(this.#buffer, 0);
  }

  /** Bytes of the upload taken so far. */
  get received(): number {
    return this.#received;
  }

  append(chunk: Buffer): void {
    this.#received += chunk.length;
    if (this.#received > this.#limit) {
      throw new ProxyhubError('PROXYHUB_INPUT_TOO_LARGE', `ARF upload is over the ${this.#limit}-byte limit`, { field: 'body' });
    }
    if (this.#sniffed.length < SNIFF_BYTES) this.#sniff(chunk);
    const bytes = this.#carry.length > 0 ? Buffer.concat([this.#carry, chunk]) : chunk;
    const whole = bytes.length - (bytes.length % 3);
    this.#carry = Buffer.from(bytes.subarray(whole));
    this.#write(bytes.subarray(0, whole));
  }

  /** The finished message body; throws a 400 for an empty or non-bzip2 upload. */
  finish(): Buffer {
    if (this.#received === 0) throw new ProxyhubError('PROXYHUB_INPUT_INVALID', 'the ARF upload is empty', { field: 'body' });
    this.#checkHeader(true);
    this.#write(this.#carry);
    this.#carry = Buffer.alloc(0);
    this.#ensure(this.#suffix.length);
    this.#length += this.#suffix.copy(this.#buffer, this.#length);
    return this.#buffer.subarray(0, this.#length);
  }

  #sniff(chunk: Buffer): void {
    this.#sniffed = Buffer.concat([this.#sniffed, chunk.subarray(0, SNIFF_BYTES - this.#sniffed.length)]);
    this.#checkHeader(false);
  }

  /** Refuses as soon as the first bytes show it is not bzip2, not after a 64 MiB upload. */
  #checkHeader(complete: boolean): void {
    const head = this.#sniffed;
    const notBzip2 = (): ProxyhubError =>
      new ProxyhubError('PROXYHUB_INPUT_INVALID', 'the ARF upload is not bzip2 data (foreman_scap_client sends the report compressed with bzip2)', { field: 'body' });
    if (head.length >= 4 && !BZIP2_HEADER.test(head.subarray(0, 4).toString('latin1'))) throw notBzip2();
    if (head.length >= SNIFF_BYTES) {
      const magic = head.subarray(4, SNIFF_BYTES);
      if (magic.equals(END_OF_STREAM_MAGIC)) throw new ProxyhubError('PROXYHUB_INPUT_INVALID', 'the ARF upload is an empty bzip2 stream', { field: 'body' });
      if (!magic.equals(BLOCK_MAGIC)) throw notBzip2();
    } else if (complete) throw notBzip2();
  }

  #write(bytes: Buffer): void {
    if (bytes.length === 0) return;
    const encoded = base64Length(bytes.length);
    this.#ensure(encoded + this.#suffix.length);
    this.#length += this.#buffer.write(bytes.toString('base64'), this.#length, encoded, 'latin1');
  }

  /** Grows by doubling (only when the client sent no Content-Length, or sent a wrong one). */
  #ensure(extra: number): void {
    if (this.#length + extra <= this.#buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.#buffer.length * 2, this.#length + extra));
    this.#buffer.copy(grown, 0, 0, this.#length);
    this.#buffer = grown;
  }
}
