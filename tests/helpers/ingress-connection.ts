/**
 * A facts upload on a TCP connection of its own (closed after the answer): an ingress of several
 * processes hands each new connection to the next process, so consecutive uploads reach them in turn.
 */
import { request } from 'node:http';

export interface NewConnectionAnswer {
  readonly status: number;
  /** The problem's `code`, for an error answer. */
  readonly code: string | undefined;
}

export function uploadFactsOnNewConnection(port: number, name: string, facts: Record<string, unknown>): Promise<NewConnectionAnswer> {
  const body = JSON.stringify({ name, facts });
  return new Promise((resolve, reject) => {
    const call = request({ host: '127.0.0.1', port, method: 'POST', path: '/api/v2/hosts/facts', agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), connection: 'close' } }, (response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => (text += chunk.toString()));
      response.once('end', () => resolve({ status: response.statusCode ?? 0, code: text === '' ? undefined : (JSON.parse(text) as { code?: string }).code }));
    });
    call.once('error', reject);
    call.end(body);
  });
}
