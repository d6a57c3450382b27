/**
 * "What HTTPS alone costs": an HTTPS server that asks for a client certificate, as the hub's
 * listeners do, and answers every request with the same bytes, prepared once. The features
 * benchmark has it answer 200 with the body the hub gave for `/v2/features`; the overload
 * benchmark has it answer the hub's own load-shedding refusal (`--refusal`: the 503, its headers
 * and problem body from hub/http/admission-hook.ts), the cheapest refusal any server could give.
 * Run as its own process:
 * `node --import tsx bench/static-tls-server.ts <port> <cert> <key> <ca> (<body file> | --refusal)`;
 * prints `listening <port>` when ready.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { REFUSAL_BODY, REFUSAL_HEADERS } from '../hub/http/admission-hook.ts';

const [portArg, cert, key, ca, bodyFile] = process.argv.slice(2);
if (!cert || !key || !ca || !bodyFile) throw new Error('usage: static-tls-server.ts <port> <cert> <key> <ca> (<body file> | --refusal)');
const refusal = bodyFile === '--refusal';
const body = refusal ? REFUSAL_BODY : readFileSync(bodyFile);
const OK_HEADERS = ['content-type', 'application/json; charset=utf-8', 'content-length', String(body.length)];

const server = createServer({ cert: readFileSync(cert), key: readFileSync(key), ca: readFileSync(ca), requestCert: true, rejectUnauthorized: false, minVersion: 'TLSv1.2' }, (request, response) => {
  request.resume();
  // The readiness probe (a GET) gets 200 either way; the load's POSTs get the refusal.
  if (refusal && request.method !== 'GET') response.writeHead(503, REFUSAL_HEADERS);
  else response.writeHead(200, OK_HEADERS);
  response.end(body);
});
// Same keep-alive budget as fastify's default, so idle benchmark connections are not cut.
server.keepAliveTimeout = 72_000;
server.listen(Number(portArg ?? 0), '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`listening ${typeof address === 'object' && address !== null ? address.port : portArg}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
