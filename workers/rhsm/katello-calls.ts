/**
 * The calls `worker:rhsm` makes to Katello (rhsm-contract §2, §3, §8), as pure functions from
 * what the ingress described. What a content proxy's Apache adds is added here: the host's
 * verified certificate in `X-RHSM-SSL-CLIENT-CERT` (exactly one copy: the allowlist dropped any
 * the host sent), `X-Forwarded-Host` naming this proxy, `X-Forwarded-For`. Nothing is taken on
 * trust: the path must stay under `/rhsm`, and a certificate speaks only for its own consumer.
 */
import { X509Certificate } from 'node:crypto';
import type { RhsmUpload } from '../../contracts/events/rhsm-upload.ts';
import { ProxyhubError } from '../../contracts/errors.ts';
import { rhsmAnswerHeaderNames, rhsmForwardedHeaders, type RhsmAnswer, type RhsmClient, type RhsmRequest } from '../../contracts/rhsm/rhsm-rpc.ts';
import { belowRhsm, classifyRhsmRoute, katelloPath, uploadPath } from '../../contracts/rhsm/rhsm-routes.ts';
import type { ForemanAnswer, ForemanCall } from '../runtime/foreman-client.ts';

export interface KatelloCallSettings {
  /** PROXYHUB_RHSM_FORWARDED_HOST; unset, the name the host used. */
  readonly forwardedHost: string | undefined;
}

/** The CN of a PEM certificate (the consumer UUID of a host's identity certificate). */
export function certificateCn(pem: string): string | undefined {
  try {
    const line = new X509Certificate(pem).subject.split('\n').find((entry) => entry.startsWith('CN='));
    return line?.slice('CN='.length);
  } catch {
    return undefined;
  }
}

/**
 * Apache's form of the header (`%{SSL_CLIENT_CERT}s`): the PEM on one line. Katello strips the
 * armour, the spaces and any newlines before it decodes (`Cert::RhsmClient`), and a header value
 * cannot carry a newline.
 */
function oneLine(pem: string): string {
  return pem.trim().replace(/\r?\n/g, ' ');
}

function identityHeaders(client: RhsmClient, settings: KatelloCallSettings): Record<string, string> {
  const host = settings.forwardedHost ?? client.host;
  return {
    ...(client.certificatePem === undefined ? {} : { 'x-rhsm-ssl-client-cert': oneLine(client.certificatePem) }),
    'x-forwarded-host': host,
    'x-forwarded-for': client.address,
  };
}

/** Refuses a certificate that would speak for another consumer (the ingress checked this already). */
function assertOwnConsumer(client: RhsmClient, consumerUuid: string | undefined): void {
  if (client.certificatePem === undefined || consumerUuid === undefined) return;
  const cn = certificateCn(client.certificatePem);
  if (cn === undefined || cn.toLowerCase() !== consumerUuid.toLowerCase()) {
    throw new ProxyhubError('PROXYHUB_AUTH_HOST_MISMATCH', `consumer ${consumerUuid.slice(0, 64)} is not the consumer of the client certificate`);
  }
}

/** A synchronous call, made as the host asked it, with the proxy's and the host's identities. */
export function katelloCallFor(request: RhsmRequest, settings: KatelloCallSettings, timeoutMs: number): ForemanCall {
  const path = katelloPath(request.path);
  if (path === undefined) throw new ProxyhubError('PROXYHUB_EVENT_INVALID', `path ${request.path.slice(0, 200)} is outside /rhsm`);
  assertOwnConsumer(request.client, classifyRhsmRoute(request.method, belowRhsm(path), request.query).consumerUuid);
  return {
    method: request.method,
    path,
    query: request.query,
    headers: { ...rhsmForwardedHeaders(request.headers), ...identityHeaders(request.client, settings) },
    body: request.body === undefined ? undefined : Buffer.from(request.body, 'base64'),
    timeoutMs,
  };
}

/** An accepted upload, replayed as the `PUT` the host made; the path comes from the kind alone. */
export function uploadCallFor(upload: RhsmUpload, settings: KatelloCallSettings, timeoutMs: number): ForemanCall {
  assertOwnConsumer(upload.client, upload.consumerUuid);
  const { authorization: _never, ...headers } = rhsmForwardedHeaders(upload.headers);
  return {
    method: 'PUT',
    path: uploadPath(upload.kind, upload.consumerUuid),
    query: upload.query,
    headers: { 'content-type': 'application/json', ...headers, ...identityHeaders(upload.client, settings) },
    body: Buffer.from(upload.body, 'utf8'),
    timeoutMs,
  };
}

/** Katello's answer as the ingress passes it on: status, the headers hosts read, the body. */
export function answerOf(answer: ForemanAnswer): RhsmAnswer {
  const headers = Object.fromEntries(rhsmAnswerHeaderNames.flatMap((name) => {
    const value = answer.headers?.[name];
    return value === undefined ? [] : [[name, value]];
  }));
  return { status: answer.status, headers, body: answer.body.toString('base64') };
}
