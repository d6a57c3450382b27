/**
 * The OpenSCAP client routes (smart_proxy_openscap's `/compliance` paths, as foreman_scap_client
 * calls them): ARF uploads, accepted as soon as the broker holds them, and the SCAP content and
 * tailoring files a host fetches before it scans. Both need the host's certificate: its CN is the
 * host name Foreman files the report under.
 */
import { createHash } from 'node:crypto';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Readable } from 'node:stream';
import { createEvent } from '../../../contracts/events/create-event.ts';
import { policyIdSchema, type ArfUpload } from '../../../contracts/events/arf-uploaded.ts';
import { ProxyhubError, errorCodeOf, coerceError, errorMessage } from '../../../contracts/errors.ts';
import { foremanReplySchema } from '../../../contracts/rpc/foreman-request.ts';
import { POLICY_FILE_REQUEST_TYPE, policyFileDigestSchema, type PolicyFileKind, type PolicyFileRequest } from '../../../contracts/rpc/policy-file.ts';
import type { RpcClient } from '../../bus/transport.ts';
import { encodeSerializedEvent } from '../../bus/event-codec.ts';
import type { Publisher } from '../../bus/transport.ts';
import { sendProblem } from '../../http/problem.ts';
import { ArfMessage } from '../arf-message.ts';
import { PolicyFileCache, type PolicyFileAnswer } from '../policy-file-cache.ts';

export interface ComplianceRouteOptions {
  readonly publisher: Publisher;
  readonly eventsExchange: string;
  readonly source: string;
  /** Largest compressed upload taken. */
  readonly arfBodyLimit: number;
  readonly rpc: RpcClient;
  /** Where policy file requests go (the openscap worker answers them). */
  readonly policyFileQueue: string;
  readonly rpcTimeoutMs: number;
  readonly policyFileCacheBytes: number;
}

/** foreman_scap_client labels the body x-bzip2; curl users write bzip2. Nothing else is bzip2. */
const BZIP2_ENCODINGS = new Set(['x-bzip2', 'bzip2']);

function policyIdOf(value: string): number {
  const parsed = policyIdSchema.safeParse(/^\d+$/.test(value) ? value : Number.NaN);
  if (!parsed.success) throw new ProxyhubError('PROXYHUB_INPUT_INVALID', `policy_id must be a positive integer, got ${JSON.stringify(value.slice(0, 40))}`, { field: 'policy_id', location: 'params' });
  return parsed.data;
}

function cnameOf(request: FastifyRequest): string {
  const cn = request.clientIdentity?.cn;
  // Without a certificate there is no host name to file the report under (the smart-proxy: 403).
  if (cn === undefined) throw new ProxyhubError('PROXYHUB_AUTH_CERT_REQUIRED', 'ARF uploads need the host certificate: its CN names the host in Foreman');
  return cn;
}

function checkEncoding(request: FastifyRequest): void {
  const header = request.headers['content-encoding'];
  const encoding = (Array.isArray(header) ? header.join(',') : (header ?? '')).trim().toLowerCase();
  // The body is taken as bzip2 whatever the label; a label naming another coding is refused.
  if (encoding !== '' && encoding !== 'identity' && !BZIP2_ENCODINGS.has(encoding)) {
    throw new ProxyhubError('PROXYHUB_INPUT_MEDIA_TYPE', `Content-Encoding ${encoding} is not accepted: send the ARF report as bzip2 (x-bzip2)`, { field: 'content-encoding', location: 'headers' });
  }
}

/**
 * Feeds the request body into `sink` chunk by chunk. When `sink` refuses a chunk the promise
 * rejects at once, and the rest of the body is read and dropped rather than the socket reset, so
 * the client still reads the 4xx.
 */
function readBody(body: Readable, sink: (chunk: Buffer) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      try {
        sink(chunk);
      } catch (error) {
        body.off('data', onData);
        body.off('end', resolve);
        body.resume();
        reject(coerceError(error));
      }
    };
    let ended = false;
    body.on('data', onData);
    body.once('end', () => {
      ended = true;
      resolve();
    });
    body.once('error', reject);
    // A client that goes away mid-upload must not leave the handler waiting forever.
    body.once('close', () => {
      if (!ended) reject(new ProxyhubError('PROXYHUB_INPUT_MALFORMED', 'the upload ended before its last byte', { field: 'body' }));
    });
  });
}

export const complianceRoutes: FastifyPluginAsync<ComplianceRouteOptions> = async (app, options) => {
  // The handler reads the body itself, straight into the message it publishes.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
  const cache = new PolicyFileCache(options.policyFileCacheBytes);

  app.post<{ Params: { policy_id: string } }>('/compliance/arf/:policy_id', { config: { identity: 'required' } }, async (request, reply) => {
    const policyId = policyIdOf(request.params.policy_id);
    const cname = cnameOf(request);
    checkEncoding(request);
    const declared = Number(request.headers['content-length']);
    if (declared > options.arfBodyLimit) throw new ProxyhubError('PROXYHUB_INPUT_TOO_LARGE', `ARF upload of ${declared} bytes is over the ${options.arfBodyLimit}-byte limit`, { field: 'body' });
    const receivedAt = new Date();
    const data: ArfUpload = { policyId, cname, reportedAt: Math.floor(receivedAt.getTime() / 1000), arf: '' };
    const envelope = createEvent('openscap.arf.uploaded.v1', data, { source: options.source, subject: `${cname}/${policyId}`, clientcn: cname, time: receivedAt, traceparent: request.traceparent });
    const message = new ArfMessage(envelope, options.arfBodyLimit, Number.isSafeInteger(declared) && declared > 0 ? declared : undefined);
    if (request.body !== undefined && request.body !== null) await readBody(request.body as Readable, (chunk) => message.append(chunk));
    const body = message.finish();
    try {
      await options.publisher.publish(encodeSerializedEvent(envelope, body, options.eventsExchange));
    } catch (error) {
      if (error instanceof ProxyhubError) return sendProblem(reply, error.code, error.message);
      throw error;
    }
    // foreman_scap_client prints `id` and treats any 2xx as uploaded.
    return reply.code(202).send({ id: envelope.id, result: 'accepted; proxyhub delivers it to Foreman' });
  });

  /** Concurrent misses share one fetch: it carries the trace of the request that started it. */
  async function fetchPolicyFile(request: PolicyFileRequest, traceparent: string): Promise<PolicyFileAnswer> {
    const raw = await options.rpc.request({ queue: options.policyFileQueue, type: POLICY_FILE_REQUEST_TYPE, body: Buffer.from(JSON.stringify(request)), timeoutMs: options.rpcTimeoutMs, traceparent });
    const answer = foremanReplySchema.parse(JSON.parse(raw.toString('utf8')));
    if ('error' in answer) throw new ProxyhubError(answer.error, answer.detail);
    const body = Buffer.from(answer.body, 'base64');
    // Foreman names SCAP content and tailoring files by their sha256. A file under another name
    // (a client's made-up digest, or one of a file Foreman does not have yet) is passed on but
    // never cached: otherwise the current file would stay cached under a future file's name.
    const cacheable = createHash('sha256').update(body).digest('hex') === request.digest;
    return { status: answer.status, contentType: answer.contentType ?? 'application/xml', body, cacheable };
  }

  async function servePolicyFile(request: FastifyRequest<{ Params: { policy_id: string; digest: string } }>, reply: FastifyReply, kind: PolicyFileKind): Promise<FastifyReply> {
    const policyId = policyIdOf(request.params.policy_id);
    const digest = policyFileDigestSchema.safeParse(request.params.digest);
    if (!digest.success) throw new ProxyhubError('PROXYHUB_INPUT_INVALID', 'digest must be a sha256 in hex (64 characters)', { field: 'digest', location: 'params' });
    let answer: PolicyFileAnswer;
    try {
      // digest.data is lower-cased: every spelling of one digest shares one entry.
      answer = await cache.get(`${kind}/${policyId}/${digest.data}`, () => fetchPolicyFile({ kind, policyId, digest: digest.data, deadline: Date.now() + options.rpcTimeoutMs }, request.traceparent));
    } catch (error) {
      const code = errorCodeOf(error);
      return sendProblem(reply, code === 'PROXYHUB_BUS_UNROUTABLE' ? 'PROXYHUB_BUS_UNAVAILABLE' : code, errorMessage(error));
    }
    // A 200 is the file (as application/xml, like the smart-proxy); Foreman's refusal of an
    // unknown policy is passed on with its status, as the smart-proxy does.
    return reply.code(answer.status).type(answer.status === 200 ? 'application/xml' : answer.contentType).send(answer.body);
  }

  app.get<{ Params: { policy_id: string; digest: string } }>('/compliance/policies/:policy_id/content/:digest', { config: { identity: 'required' } }, (request, reply) => servePolicyFile(request, reply, 'content'));
  app.get<{ Params: { policy_id: string; digest: string } }>('/compliance/policies/:policy_id/tailoring/:digest', { config: { identity: 'required' } }, (request, reply) => servePolicyFile(request, reply, 'tailoring'));
};
