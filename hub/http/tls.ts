/**
 * TLS for both listeners, with smart-proxy semantics: the handshake asks for a client
 * certificate and verifies it against the CA, but does not fail without one (Foreman and some
 * client routes connect without); each route then decides whether it needs a verified identity.
 */
import { readFileSync } from 'node:fs';
import type { SecureServerOptions } from 'node:http2';

export type HttpsOptions = Pick<SecureServerOptions, 'key' | 'cert' | 'ca' | 'requestCert' | 'rejectUnauthorized' | 'minVersion'>;

export interface TlsFiles {
  readonly cert?: string | undefined;
  readonly key?: string | undefined;
  /** The CA client certificates must chain to. */
  readonly ca?: string | undefined;
}

/** The `https` server options, or undefined when there is no TLS material. */
export function httpsOptions(files: TlsFiles): HttpsOptions | undefined {
  const { cert, key, ca } = files;
  if (!cert || !key) return undefined;
  return {
    cert: readFileSync(cert),
    key: readFileSync(key),
    ...(ca ? { ca: readFileSync(ca) } : {}),
    requestCert: ca !== undefined,
    // An unverified or absent certificate still completes the handshake; routes answer 403.
    rejectUnauthorized: false,
    minVersion: 'TLSv1.2',
  };
}
