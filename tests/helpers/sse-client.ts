/**
 * A Server-Sent Events client for tests: collects every event of one stream and waits for the
 * next one matching a predicate (no fixed sleeps).
 */
import { request, type IncomingMessage } from 'node:http';
import { waitFor } from './wait-for.ts';

export interface SseEvent {
  readonly id: string | undefined;
  readonly event: string;
  readonly data: unknown;
  /** When it arrived (ms since epoch). */
  readonly at: number;
}

export interface SseClient {
  readonly events: SseEvent[];
  readonly status: number;
  /** The first event at index ≥ `from` that matches, waiting for it if needed. */
  next(predicate: (event: SseEvent) => boolean, options?: { from?: number; timeoutMs?: number; what?: string }): Promise<SseEvent>;
  close(): void;
}

export async function openSse(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
  const events: SseEvent[] = [];
  const response = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = request(url, { headers: { accept: 'text/event-stream', ...headers } }, resolve);
    req.on('error', reject);
    req.end();
  });
  response.on('error', () => undefined);
  let buffer = '';
  response.setEncoding('utf8');
  response.on('data', (chunk: string) => {
    buffer += chunk;
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const fields = new Map<string, string>();
      for (const line of block.split('\n')) {
        if (line.startsWith(':') || line.length === 0) continue;
        const colon = line.indexOf(':');
        fields.set(line.slice(0, colon), line.slice(colon + 1).trimStart());
      }
      if (!fields.has('data')) continue;
      events.push({ id: fields.get('id'), event: fields.get('event') ?? 'message', data: JSON.parse(fields.get('data') ?? 'null'), at: Date.now() });
    }
  });
  return {
    events,
    status: response.statusCode ?? 0,
    async next(predicate, options = {}) {
      return waitFor(() => events.slice(options.from ?? 0).find(predicate), { timeoutMs: options.timeoutMs ?? 15_000, intervalMs: 10, what: options.what ?? 'an SSE event' });
    },
    close: () => response.destroy(),
  };
}
