/**
 * The "what HTTPS alone costs" scenario of the features benchmark: an HTTPS server that asks for
 * a client certificate, as the control listener does, and answers every GET with the same bytes
 * (the body the hub gave for `/v2/features`), prepared once. Run as its own process:
 * `node --import tsx bench/static-tls-server.ts <port> <cert> <key> <ca> <body file>`; prints
 * `listening <port>` when ready.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';

const [portArg, cert, key, ca, bodyFile] = process.argv.slice(2);
if (!cert || !key || !ca || !bodyFile) throw new Error('usage: static-tls-server.ts <port> <cert> <key> <ca> <body file>');
const body = readFileSync(bodyFile);

const server = createServer({ cert: readFileSync(cert), key: readFileSync(key), ca: readFileSync(ca), requestCert: true, rejectUnauthorized: false, minVersion: 'TLSv1.2' }, (request, response) => {
  request.resume();
  response.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length });
  response.end(body);
});
// Same keep-alive budget as fastify's default, so idle benchmark connections are not cut.
server.keepAliveTimeout = 72_000;
server.listen(Number(portArg ?? 0), '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`listening ${typeof address === 'object' && address !== null ? address.port : portArg}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
