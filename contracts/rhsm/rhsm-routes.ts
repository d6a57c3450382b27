/**
 * How a `/rhsm` request is classified (rhsm-contract §4, §6): which consumer it speaks for, and
 * whether it is one of the uploads accepted with 202 and delivered later. Pure functions, used by
 * the ingress (to refuse and to choose the path) and again by the worker, which holds the
 * credentials and takes nothing the ingress decided on trust.
 */
import { z } from 'zod';

/**
 * Uploads whose reply subscription-manager and katello-host-tools do not read (§5, §6): accepted
 * with 202 once the broker confirmed, delivered by `worker:rhsm`. `facts` is `PUT /consumers/:id`
 * with a body that holds `facts` and nothing else.
 */
export const rhsmUploadKinds = ['profiles', 'profile', 'packages', 'deb_package_profile', 'tracer', 'enabled_repos', 'facts'] as const;
export type RhsmUploadKind = (typeof rhsmUploadKinds)[number];

/** Candlepin consumer UUIDs (the CN of a host's identity certificate), leniently. */
export const consumerUuidSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9-]{0,63}$/);

/** Katello's path for each upload kind, built by the worker from the kind and the UUID alone. */
export function uploadPath(kind: RhsmUploadKind, consumerUuid: string): string {
  const id = encodeURIComponent(consumerUuid);
  switch (kind) {
    case 'profiles':
    case 'profile':
    case 'packages':
    case 'tracer':
      return `/rhsm/consumers/${id}/${kind}`;
    case 'deb_package_profile':
    case 'enabled_repos':
      return `/rhsm/systems/${id}/${kind}`;
    case 'facts':
      return `/rhsm/consumers/${id}`;
    default: {
      const unknown: never = kind;
      throw new RangeError(`unknown upload kind ${String(unknown)}`);
    }
  }
}

/**
 * Which uploads replace one another: the newest of a slot is all Katello needs. `/profile` and
 * `/packages` are one route under two names; the combined `/profiles` carries more (enabled
 * repositories, modules), so it is a slot of its own, as are the others.
 */
export function coalesceSlot(kind: RhsmUploadKind): string {
  return kind === 'packages' ? 'profile' : kind;
}

const UPLOAD_ROUTES: ReadonlyArray<readonly [RegExp, RhsmUploadKind]> = [
  [/^\/consumers\/([^/]+)\/profiles\/?$/, 'profiles'],
  [/^\/consumers\/([^/]+)\/profile\/?$/, 'profile'],
  [/^\/consumers\/([^/]+)\/packages\/?$/, 'packages'],
  [/^\/consumers\/([^/]+)\/tracer\/?$/, 'tracer'],
  [/^\/systems\/([^/]+)\/deb_package_profile\/?$/, 'deb_package_profile'],
  [/^\/systems\/([^/]+)\/enabled_repos\/?$/, 'enabled_repos'],
  [/^\/consumers\/([^/]+)\/?$/, 'facts'],
];

const squeezeSlashes = (path: string): string => path.replace(/\/{2,}/g, '/');

/** An escaped unreserved character (RFC 3986 §2.3: letters, digits, `-._~`) means the character itself. */
const unescapeUnreserved = (path: string): string =>
  path.replace(/%([0-9A-Fa-f]{2})/g, (escape, hex: string) => {
    const character = String.fromCharCode(Number.parseInt(hex, 16));
    return /^[A-Za-z0-9\-._~]$/.test(character) ? character : escape;
  });

/**
 * The path Katello will route, which is the one to classify and the one to forward: escaped
 * unreserved characters decoded (Foreman's Apache proxies the decoded path, so `%63onsumers` is
 * `consumers` to Rails), dot segments resolved as URL parsing does, and runs of slashes squeezed to
 * one, as Rails does before it routes. Classifying any other spelling would let
 * `/consumers//<other UUID>` past the consumer check and reach Katello as `/consumers/<other UUID>`.
 * An escaped slash, backslash or NUL has no one reading, and is refused, as is a `%` that starts no
 * escape. `rawPath` is the
 * request's path without its query; undefined when the path is refused or not under `/rhsm`.
 */
export function katelloPath(rawPath: string): string | undefined {
  // A `%` that starts no escape could become one once its neighbour is decoded (`%%36%33`).
  if (/%(?:2f|5c|00)|%(?![0-9A-Fa-f]{2})/i.test(rawPath)) return undefined;
  // Squeezed first as well: a path that starts with `//` would be parsed as a host.
  const path = squeezeSlashes(new URL(squeezeSlashes(unescapeUnreserved(rawPath)), 'http://katello.invalid').pathname);
  return path === '/rhsm' || path.startsWith('/rhsm/') ? path : undefined;
}

/** The part of a `katelloPath` below `/rhsm`, which `classifyRhsmRoute` reads (`/` for `/rhsm` itself). */
export const belowRhsm = (path: string): string => path.slice('/rhsm'.length) || '/';

/** Routes that name a consumer in their path: `/consumers/:id…` and katello-host-tools' `/systems/:id…`. */
const CONSUMER_ROUTE = /^\/(?:consumers|systems)\/([^/]+)(?:\/.*)?$/;

export interface RhsmRoute {
  /** The consumer the request speaks for (path, or `?consumer=` of `GET /pools`), when it names one. */
  readonly consumerUuid: string | undefined;
  /** Set when the method and path are an async-acceptable upload (`facts` also needs a facts-only body). */
  readonly upload: RhsmUploadKind | undefined;
}

function decoded(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/**
 * Classifies `method` and `path` (below `/rhsm`, undecoded, no query). `query` is consulted for
 * `GET /pools?consumer=`, which lists a consumer's pools (§4).
 */
export function classifyRhsmRoute(method: string, path: string, query: ReadonlyArray<readonly [string, string]> = []): RhsmRoute {
  const consumer = CONSUMER_ROUTE.exec(path);
  const fromQuery = /^\/pools\/?$/.test(path) ? query.find(([key]) => key === 'consumer')?.[1] : undefined;
  const consumerUuid = consumer?.[1] === undefined ? fromQuery : decoded(consumer[1]);
  if (method !== 'PUT') return { consumerUuid, upload: undefined };
  const upload = UPLOAD_ROUTES.find(([pattern]) => pattern.test(path))?.[1];
  return { consumerUuid, upload };
}

/**
 * `PUT /consumers/:id` is an async upload only when its body holds `facts` and nothing else
 * (an object): release, service level, environments, installed products or guests change what
 * the client reads back in the same run (§6), so those stay synchronous.
 */
export function isFactsOnly(body: unknown): boolean {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return false;
  const keys = Object.keys(body);
  const facts = (body as { facts?: unknown }).facts;
  return keys.length === 1 && keys[0] === 'facts' && typeof facts === 'object' && facts !== null && !Array.isArray(facts);
}
