/**
 * The "HTTP cost, no broker" scenario: reads the whole body and answers what the hub answers
 * (202 with a fresh event id), nothing else. Run as its own process:
 * `node --import tsx bench/noop-server.ts <port>`; prints `listening <port>` when ready.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';

const port = Number(process.argv[2] ?? 0);

const server = createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    // GET is the readiness probe; every upload gets what the hub answers.
    const status = request.method === 'GET' ? 200 : 202;
    const body = JSON.stringify({ id: randomUUID() });
    response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    response.end(body);
  });
});
// Same keep-alive budget as fastify's default, so idle benchmark connections are not cut.
server.keepAliveTimeout = 72_000;
server.listen(port, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`listening ${typeof address === 'object' && address !== null ? address.port : port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
