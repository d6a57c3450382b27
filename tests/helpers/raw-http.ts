/**
 * One HTTP/1.1 exchange over a raw socket, for requests `fetch` refuses or normalises (lying
 * Content-Length, malformed chunks, dot segments, NUL bytes, header floods). It never throws: it
 * reports what the peer did, so a fuzz can count outcomes, and a timeout turns a hang into a result.
 */
import { connect } from 'node:net';

export interface RawResponse {
  /** `response`: one complete response was read; otherwise the peer closed, reset or hung first. */
  readonly outcome: 'response' | 'closed' | 'reset' | 'timeout';
  readonly status: number | undefined;
  /** Lower-case names; repeated headers joined with ", ". */
  readonly headers: ReadonlyMap<string, string>;
  readonly body: Buffer;
  readonly error: string | undefined;
}

export interface RawOptions {
  readonly timeoutMs?: number;
  /** Half-close after writing: the server sees EOF (needed when the request is deliberately incomplete). */
  readonly halfClose?: boolean;
  /** The request was HEAD: the response has no body whatever its Content-Length says. */
  readonly head?: boolean;
}

type Parsed = { status: number; headers: Map<string, string>; body: Buffer };

const HEAD_END = Buffer.from('\r\n\r\n');

/** Decodes a chunked body; undefined until the last chunk and the trailer section arrived. */
function dechunk(data: Buffer): Buffer | undefined {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = data.indexOf('\r\n', at);
    if (eol < 0) return undefined;
    const size = Number.parseInt(data.subarray(at, eol).toString('latin1'), 16);
    if (Number.isNaN(size)) return undefined;
    if (size === 0) return data.indexOf(HEAD_END, eol) >= 0 ? Buffer.concat(parts) : undefined; // last chunk, then trailers up to an empty line
    if (data.length < eol + 2 + size + 2) return undefined;
    parts.push(data.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
}

/** The first final (non-1xx) response in `data`, or undefined while it is incomplete. */
function parseResponse(data: Buffer, head: boolean, closed: boolean): Parsed | undefined {
  let start = 0;
  for (;;) {
    const end = data.indexOf(HEAD_END, start);
    if (end < 0) return undefined;
    const [statusLine = '', ...lines] = data.subarray(start, end).toString('latin1').split('\r\n');
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? Number.NaN);
    if (Number.isNaN(status)) return undefined;
    const headers = new Map<string, string>();
    for (const line of lines) {
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      headers.set(name, headers.has(name) ? `${headers.get(name)}, ${value}` : value);
    }
    const rest = data.subarray(end + 4);
    if (status < 200) {
      start = end + 4; // 100 Continue and friends precede the real answer
      continue;
    }
    if (head || status === 204 || status === 304) return { status, headers, body: Buffer.alloc(0) };
    const length = headers.get('content-length');
    if (length !== undefined) return rest.length >= Number(length) ? { status, headers, body: rest.subarray(0, Number(length)) } : undefined;
    if (/chunked/i.test(headers.get('transfer-encoding') ?? '')) {
      const body = dechunk(rest);
      return body === undefined ? undefined : { status, headers, body };
    }
    return closed ? { status, headers, body: rest } : undefined; // delimited by the close
  }
}

export function rawRequest(port: number, request: Buffer, options: RawOptions = {}): Promise<RawResponse> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    const chunks: Buffer[] = [];
    let error: string | undefined;
    let settled = false;
    const finish = (outcome: RawResponse['outcome'], parsed: Parsed | undefined): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ outcome, status: parsed?.status, headers: parsed?.headers ?? new Map(), body: parsed?.body ?? Buffer.concat(chunks), error });
    };
    const timer = setTimeout(() => finish('timeout', parseResponse(Buffer.concat(chunks), options.head ?? false, true)), options.timeoutMs ?? 10_000);
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      const parsed = parseResponse(Buffer.concat(chunks), options.head ?? false, false);
      if (parsed) finish('response', parsed);
    });
    // A write into a socket the server already closed fails with EPIPE/ECONNRESET; what was read still counts.
    socket.on('error', (cause: NodeJS.ErrnoException) => {
      error = cause.code ?? cause.message;
    });
    socket.on('close', () => {
      const parsed = parseResponse(Buffer.concat(chunks), options.head ?? false, true);
      finish(parsed ? 'response' : error === 'ECONNRESET' ? 'reset' : 'closed', parsed);
    });
    socket.write(request);
    if (options.halfClose) socket.end();
  });
}
