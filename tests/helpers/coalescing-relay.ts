/**
 * A TCP relay in front of a real server that holds back what the server sends and hands it on in
 * one write once the server has been quiet for `holdMs` (or 5 × `holdMs` after the first byte
 * held): the client then reads several of the server's packets at once, as a client does whose
 * event loop was busy while they came in. What the client sends passes at once.
 */
import { createServer, connect, type Socket } from 'node:net';

export interface CoalescingRelay {
  readonly port: number;
  close(): Promise<void>;
}

export async function startCoalescingRelay(target: { readonly host: string; readonly port: number }, holdMs: number): Promise<CoalescingRelay> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    sockets.add(client).add(upstream);
    let held: Buffer[] = [];
    let firstHeldAt = 0;
    let timer: NodeJS.Timeout | undefined;
    const flush = (): void => {
      clearTimeout(timer);
      timer = undefined;
      if (held.length > 0 && !client.destroyed) client.write(Buffer.concat(held));
      held = [];
    };
    client.on('data', (chunk: Buffer) => upstream.write(chunk));
    // Quiet for holdMs, not holdMs from the first byte: a host slow to start the command (a
    // loaded machine) still has its reply and the command's end handed on together.
    upstream.on('data', (chunk: Buffer) => {
      if (held.length === 0) firstHeldAt = Date.now();
      held.push(chunk);
      clearTimeout(timer);
      timer = setTimeout(flush, Math.max(0, Math.min(holdMs, firstHeldAt + 5 * holdMs - Date.now())));
    });
    upstream.on('end', () => {
      flush();
      client.end();
    });
    client.on('end', () => upstream.end());
    for (const [socket, other] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      socket.on('error', () => other.destroy());
      socket.on('close', () => {
        clearTimeout(timer);
        sockets.delete(socket);
        other.destroy();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
