/** A minimal Server-Sent Events reader: each complete event to `onEvent`, stamped on arrival. */
import { request, type IncomingMessage } from 'node:http';

export interface ArrivedEvent {
  readonly event: string;
  readonly data: unknown;
  /** performance.timeOrigin + performance.now() at arrival: epoch ms with sub-ms resolution. */
  readonly at: number;
}

export async function followSse(url: string, onEvent: (event: ArrivedEvent) => void): Promise<{ close(): void }> {
  const response = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = request(url, { headers: { accept: 'text/event-stream' } }, resolve);
    req.on('error', reject);
    req.end();
  });
  if (response.statusCode !== 200) throw new Error(`${url} answered ${response.statusCode}`);
  response.setEncoding('utf8');
  let buffer = '';
  response.on('data', (chunk: string) => {
    const at = performance.timeOrigin + performance.now();
    buffer += chunk;
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1] ?? 'message';
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (data !== undefined) onEvent({ event, data: JSON.parse(data), at });
    }
  });
  response.on('error', () => undefined);
  return { close: () => response.destroy() };
}
