import type { Readable } from 'node:stream';
import { Agent, request } from 'undici';
import type { CertFiles, TestPki } from './pki.ts';

export interface TlsAnswer {
  readonly status: number;
  readonly body: Record<string, unknown>;
  readonly headers: Record<string, string | string[] | undefined>;
}

/** An HTTPS client trusting the test CA, presenting `client` when given. */
export function tlsClient(pki: TestPki, client?: CertFiles, options: { maxVersion?: 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3' } = {}) {
  const agent = new Agent({
    connect: {
      ca: pki.read(pki.caCert),
      ...(client ? { cert: pki.read(client.cert), key: pki.read(client.key) } : {}),
      ...(options.maxVersion ? { maxVersion: options.maxVersion, minVersion: 'TLSv1' as const } : {}),
    },
  });
  return {
    async send(method: 'GET' | 'POST', url: string, json?: unknown): Promise<TlsAnswer> {
      const response = await request(url, {
        method,
        dispatcher: agent,
        ...(json === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(json) }),
      });
      const text = await response.body.text();
      return { status: response.statusCode, body: text ? (JSON.parse(text) as Record<string, unknown>) : {}, headers: response.headers };
    },
    /** Any method, raw body and headers in, raw body out (ARF uploads and downloads). */
    async raw(method: 'GET' | 'POST' | 'DELETE', url: string, options: { headers?: Record<string, string>; body?: Buffer | Readable } = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
      const response = await request(url, { method, dispatcher: agent, ...(options.headers ? { headers: options.headers } : {}), ...(options.body ? { body: options.body } : {}) });
      return { status: response.statusCode, headers: response.headers, body: Buffer.from(await response.body.arrayBuffer()) };
    },
    close: () => agent.close(),
  };
}

/**
 * One undici Agent per client certificate (and one with none), made on first use and closed
 * with the test: tests that call the hub as several hosts keep each host's connections apart.
 */
export function agentsByCertificate(t: { teardown(fn: () => unknown): void }, pki: TestPki): (cert: CertFiles | undefined) => Agent {
  const agents = new Map<string, Agent>();
  t.teardown(() => Promise.all([...agents.values()].map((agent) => agent.close())));
  return (cert) => {
    const key = cert?.cert ?? 'none';
    let agent = agents.get(key);
    if (!agent) {
      agent = new Agent({ connect: { ca: pki.read(pki.caCert), ...(cert ? { cert: pki.read(cert.cert), key: pki.read(cert.key) } : {}) } });
      agents.set(key, agent);
    }
    return agent;
  };
}
