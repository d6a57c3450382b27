/**
 * The PEM of the certificate a client presented on this TLS connection, when it verified against
 * the configured CA: what Apache's `%{SSL_CLIENT_CERT}s` gives a content proxy's `/rhsm` proxy
 * (rhsm-contract §2), and what Katello reads the consumer UUID from. Only a verified certificate
 * is ever returned, so a host can hand on nothing but its own identity. Behind a front proxy the
 * certificate never reaches this process: there is none to give.
 */
import type { TLSSocket } from 'node:tls';
import type { FastifyRequest } from 'fastify';

/** Read once per connection, like the CN (client-identity.ts says why; renegotiation is off). */
const pemBySocket = new WeakMap<object, string | null>();

function pemOf(der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}

export function verifiedCertificatePem(request: Pick<FastifyRequest, 'raw' | 'clientIdentity'>): string | undefined {
  if (request.clientIdentity?.source !== 'certificate') return undefined;
  const socket = request.raw.socket as Partial<TLSSocket>;
  if (!socket.encrypted || !socket.authorized || typeof socket.getPeerCertificate !== 'function') return undefined;
  const cached = pemBySocket.get(socket);
  if (cached !== undefined) return cached ?? undefined;
  const raw: unknown = socket.getPeerCertificate().raw;
  const pem = Buffer.isBuffer(raw) && raw.length > 0 ? pemOf(raw) : null;
  pemBySocket.set(socket, pem);
  return pem ?? undefined;
}
