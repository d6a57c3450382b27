/**
 * Request/reply between the ingress's registry routes and `worker:container_gateway`
 * (container-gateway-contract §2, §3, §9). The ingress describes one registry request and who
 * asks; the worker, which holds the tables and the upstream registry's credentials, decides and
 * answers with a status, the registry headers clients rely on and a small body. Blob bytes never
 * travel here: a blob is always answered with a redirect.
 */
import { z } from 'zod';
import { errorCatalog } from '../errors.ts';

/**
 * Who asks. A bearer token leaves the ingress only as its SHA-256 (hex): it is a Foreman personal
 * access token. Katello's literal tokens `unauthenticated`/`unauthorized` carry no secret and are
 * kept as they are, because they decide differently (§3).
 */
export const registryIdentitySchema = z.discriminatedUnion('kind', [
  /** A verified client certificate: the CN is the host's consumer UUID. */
  z.strictObject({ kind: z.literal('certificate'), cn: z.string().min(1).max(255) }),
  z.strictObject({ kind: z.literal('token'), sha256: z.string().regex(/^[0-9a-f]{64}$/) }),
  z.strictObject({ kind: z.literal('literal'), token: z.enum(['unauthenticated', 'unauthorized']) }),
  z.strictObject({ kind: z.literal('anonymous') }),
]);
export type RegistryIdentity = z.infer<typeof registryIdentitySchema>;

/** Repository names as the registry allows them (lower case path components, §2: may contain `/`). */
export const repositoryNameSchema = z.string().regex(/^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/).max(255);
/** A tag or a digest. */
export const referenceSchema = z.string().regex(/^(?:[A-Za-z0-9_][A-Za-z0-9._-]{0,127}|[a-z0-9]+(?:[+._-][a-z0-9]+)*:[A-Za-z0-9=_-]{32,})$/);
export const digestSchema = z.string().regex(/^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[A-Za-z0-9=_-]{32,}$/);

const common = {
  identity: registryIdentitySchema,
  /** Epoch ms when the ingress gives up: a request picked up later is not answered. */
  deadline: z.number().int().positive(),
};

const queryPairs = z.array(z.tuple([z.string().max(2048), z.string().max(2048)])).max(50);
/** The client's `Authorization` header, passed only where Katello must see it (§3: token, search). */
const basicAuthorization = z.string().max(4096).optional();

export const registryRequestSchema = z.discriminatedUnion('op', [
  /** `GET /v2/` (`v1: false`) or `GET /v1/_ping` (`v1: true`, no auth). */
  z.strictObject({ op: z.literal('ping'), v1: z.boolean(), ...common }),
  /** `GET /v2/token`: the one request whose `Authorization` (Basic) reaches the worker. */
  z.strictObject({ op: z.literal('token'), query: queryPairs, authorization: basicAuthorization, userAgent: z.string().max(1024).optional(), ...common }),
  z.strictObject({ op: z.literal('catalog'), ...common }),
  z.strictObject({ op: z.literal('tags'), repository: repositoryNameSchema, query: queryPairs, ...common }),
  z.strictObject({ op: z.literal('manifest'), repository: repositoryNameSchema, reference: referenceSchema, accept: z.array(z.string().max(1024)).max(50), ...common }),
  z.strictObject({ op: z.literal('blob'), repository: repositoryNameSchema, digest: digestSchema, accept: z.array(z.string().max(1024)).max(50), ...common }),
  z.strictObject({ op: z.literal('search'), q: z.string().max(255), n: z.number().int().min(1).max(1000), authorization: basicAuthorization, ...common }),
  /** The flatpak index, `GET /index/static?…`: the query goes upstream re-encoded. */
  z.strictObject({ op: z.literal('flatpak-index'), query: queryPairs, ...common }),
]);
export type RegistryRequest = z.infer<typeof registryRequestSchema>;
export type RegistryOp = RegistryRequest['op'];

const errorCodes = Object.keys(errorCatalog) as [keyof typeof errorCatalog, ...(keyof typeof errorCatalog)[]];

export const registryReplySchema = z.union([
  z.strictObject({
    status: z.number().int().min(100).max(599),
    /** Registry headers the ingress passes on (lower-case names). */
    headers: z.strictObject({
      'content-type': z.string().max(1024).optional(),
      'docker-content-digest': z.string().max(1024).optional(),
      location: z.string().max(8192).optional(),
      link: z.string().max(8192).optional(),
    }),
    /** Base64; small (manifest, tag list, catalog, token), never blob bytes. */
    body: z.string(),
    /** Refused: the ingress adds `WWW-Authenticate` with a realm from the scheme and host the client used. */
    challenge: z.boolean(),
  }),
  z.strictObject({
    /** The worker could not answer (upstream down, store unavailable, picked up too late). */
    error: z.enum(errorCodes),
    detail: z.string().max(2000),
  }),
]);
export type RegistryReply = z.infer<typeof registryReplySchema>;
export type RegistryAnswer = Extract<RegistryReply, { status: number }>;

export const REGISTRY_REQUEST_TYPE = 'container-gateway.request.v1';
export const REGISTRY_REPLY_TYPE = 'container-gateway.reply.v1';

/** Largest body the worker returns over the broker (manifests are capped at 4 MiB by registries). */
export const MAX_REGISTRY_BODY_BYTES = 8 * 1024 * 1024;

/** The registry error format (distribution spec), for the answers the gateway makes itself. */
export function registryErrorBody(code: string, message: string, detail?: unknown): string {
  return JSON.stringify({ errors: [{ code, message, ...(detail === undefined ? {} : { detail }) }] });
}
