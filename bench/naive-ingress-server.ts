/**
 * The "naive handler" scenario: the ingress a user would write in an afternoon, and the floor
 * for any Node ingress that answers only after the broker's confirm. `node:http`, the body read
 * whole and `JSON.parse`d (400 if it is not JSON), wrapped in a CloudEvents envelope, published
 * persistent on one amqplib ConfirmChannel to the hub's exchange and facts routing key, 202
 * `{"id"}` on the confirm. No framework, no validation beyond JSON, no identity, no headers
 * table, no metrics, no load shedding: everything the real ingress does beyond this is what the
 * gap between the two rows costs.
 *
 *   node --import tsx bench/naive-ingress-server.ts <port> <amqp url> <events exchange>
 *
 * The exchange and the facts queue bound to it are declared by the benchmark (the hub's own
 * declareTopology) before this starts. It imports nothing of the project, so the benchmark runs
 * it transpiled, without tsx's loader thread, and its RSS is a plain Node process's. Prints
 * `listening <port>` when ready.
 */
import amqplib from 'amqplib';
import { randomUUID } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';

const [portArgument, amqpUrl, eventsExchange] = process.argv.slice(2);
if (amqpUrl === undefined || eventsExchange === undefined) throw new Error('usage: naive-ingress-server.ts <port> <amqp url> <events exchange>');
const ROUTING_KEY = 'facts.uploaded.v1';

const connection = await amqplib.connect(amqpUrl);
const channel = await connection.createConfirmChannel();
// A broker failure ends the process loudly: the benchmark sees it as a failed scenario.
connection.on('error', (error: Error) => {
  process.stderr.write(`naive ingress: ${error.message}\n`);
  process.exit(1);
});

function answer(response: ServerResponse, status: number, body: string): void {
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  response.end(body);
}

const server = createServer((request, response) => {
  if (request.method === 'GET') return answer(response, 200, '{"status":"ok"}');
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    let data: unknown;
    try {
      data = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      return answer(response, 400, '{"error":"body is not JSON"}');
    }
    const id = randomUUID();
    const time = new Date().toISOString();
    const body = Buffer.from(JSON.stringify({ specversion: '1.0', id, type: ROUTING_KEY, source: 'naive', time, data }));
    channel.publish(eventsExchange, ROUTING_KEY, body, { persistent: true, messageId: id, contentType: 'application/cloudevents+json' }, (error: unknown) => {
      if (error) answer(response, 503, '{"error":"not confirmed"}');
      else answer(response, 202, JSON.stringify({ id }));
    });
  });
});
// Same keep-alive budget as fastify's default, so idle benchmark connections are not cut.
server.keepAliveTimeout = 72_000;
server.listen(Number(portArgument ?? 0), '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`listening ${typeof address === 'object' && address !== null ? address.port : portArgument}\n`);
});
process.on('SIGTERM', () => {
  server.close(() => {
    void connection.close().finally(() => process.exit(0));
  });
  server.closeAllConnections();
});
