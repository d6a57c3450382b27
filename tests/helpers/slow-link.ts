/**
 * A TCP relay in front of a real server whose answers can be held back: what the client sends
 * goes through at once, what the server sends arrives `delayMs` later, in order. Put in front of
 * the broker, it makes every confirm late while the messages themselves are queued at once: the
 * ambiguous 503 (`PROXYHUB_BUS_TIMEOUT`) a slow broker causes, without slowing the broker itself.
 */
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';

export interface SlowLink {
  /** The relay's port on 127.0.0.1. */
  readonly port: number;
  /** How long the server's bytes are held; change it at any time (0 = none). */
  delayMs: number;
  close(): Promise<void>;
}

export async function startSlowLink(target: { host: string; port: number }): Promise<SlowLink> {
  const sockets = new Set<Socket>();
  const link = { port: 0, delayMs: 0 } as SlowLink;
  const server = createServer((client) => {
    const upstream = connect(target);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
    }
    client.pipe(upstream);
    let pending = 0;
    let ended = false;
    upstream.on('data', (chunk: Buffer) => {
      if (link.delayMs === 0 && pending === 0) return void client.write(chunk);
      pending += 1;
      // A constant delay keeps the order: timers of equal delay fire in the order they were set.
      setTimeout(() => {
        pending -= 1;
        client.write(chunk);
        if (ended && pending === 0) client.end();
      }, link.delayMs);
    });
    upstream.on('end', () => (pending === 0 ? client.end() : (ended = true)));
    client.on('close', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return Object.assign(link, {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  });
}
