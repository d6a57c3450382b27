/**
 * Katello's `/rhsm` as a content proxy's Apache reaches it (rhsm-contract §3, §4), for the test
 * Foreman: registration with an activation key or a user's password, consumer routes that take
 * the host's identity from `X-RHSM-SSL-CLIENT-CERT` as Katello does (armour and spaces stripped,
 * the CN is the UUID, no chain check), check-ins, accessible content with `If-Modified-Since`
 * (304), profile uploads that take `profileDelayMs` (applicability regeneration), unregistering
 * (204), and 410 with `deletedId` for a deleted consumer.
 */
import { X509Certificate, randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export interface RhsmAnswer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

export interface StandInConsumer {
  readonly uuid: string;
  readonly name: string;
  readonly owner: string;
  facts: Record<string, unknown>;
  checkins: number;
  /** Last-Modified of the content access payload. */
  contentModified: Date;
}

export interface RhsmUploadSeen {
  readonly kind: string;
  readonly uuid: string;
  readonly body: unknown;
  readonly at: number;
}

const VERSION_HEADER = { 'x-candlepin-version': 'katello/4.16.0', 'content-type': 'application/json' };
/** The upload routes; the second group names the kind. */
const UPLOADS: readonly RegExp[] = [/^\/consumers\/([^/]+)\/(profiles|profile|packages|tracer)\/?$/, /^\/systems\/([^/]+)\/(deb_package_profile|enabled_repos)\/?$/];

function json(status: number, value: unknown, headers: Record<string, string> = {}): RhsmAnswer {
  return { status, headers: { ...VERSION_HEADER, ...headers }, body: value === undefined ? '' : JSON.stringify(value) };
}

function failure(status: number, message: string, extra: Record<string, unknown> = {}): RhsmAnswer {
  return json(status, { displayMessage: message, errors: [message], ...extra });
}

/** Rack folds every spelling of a header name onto one variable; Katello reads the cert from it first. */
function headerAsRack(request: IncomingMessage, name: string): string | undefined {
  const wanted = name.toLowerCase().replace(/_/g, '-');
  for (const [key, value] of Object.entries(request.headers)) {
    if (key.replace(/_/g, '-') === wanted && value !== undefined) return Array.isArray(value) ? value[0] : value;
  }
  return undefined;
}

/** `Cert::RhsmClient`: armour, spaces and newlines stripped, base64 decoded, the CN taken. */
export function uuidFromCertHeader(value: string | undefined): string | undefined {
  if (value === undefined || value === '' || value === '(null)') return undefined;
  const base64 = value.replace('-----BEGIN CERTIFICATE-----', '').replace('-----END CERTIFICATE-----', '').replace(/\s+/g, '');
  try {
    const subject = new X509Certificate(Buffer.from(base64, 'base64')).subject;
    return subject.split('\n').find((line) => line.startsWith('CN='))?.slice(3);
  } catch {
    return undefined;
  }
}

export class KatelloRhsm {
  readonly consumers = new Map<string, StandInConsumer>();
  /** UUIDs of deleted consumers: any consumer route answers 410 with `deletedId`. */
  readonly deleted = new Set<string>();
  /** Activation key → organization. */
  readonly activationKeys = new Map<string, string>([['ak-rhel9', 'ACME']]);
  readonly users = new Map<string, string>([['admin', 'changeme']]);
  /** UUIDs handed to the next registrations (a test issues their certificates beforehand). */
  readonly nextUuids: string[] = [];
  /** Identity certificates by UUID, returned in the registration reply's `idCert`. */
  readonly identities = new Map<string, { cert: string; key: string }>();
  readonly uploads: RhsmUploadSeen[] = [];
  /** Katello regenerates applicability inline after each profile import. */
  profileDelayMs = 0;

  async answer(request: IncomingMessage, path: string, raw: string): Promise<RhsmAnswer> {
    const sub = path.slice('/rhsm'.length) || '/';
    const url = new URL(request.url ?? '/', 'http://katello');
    const method = request.method ?? 'GET';
    if (sub === '/' && method === 'GET') return json(200, ['consumers', 'owners', 'pools', 'packages', 'profiles', 'status'].map((rel) => ({ rel, href: `/${rel}` })));
    if (sub === '/status' && method === 'GET') return json(200, { result: true, version: '4.16.0', managerCapabilities: ['combined_reporting', 'content_access', 'syspurpose'] });
    if (/^\/consumers\/?$/.test(sub) && method === 'POST') return this.#register(request, url, raw);
    const consumer = /^\/(?:consumers|systems)\/([^/]+)(\/.*)?$/.exec(sub);
    if (!consumer) return failure(404, `Unknown proxy route ${method} ${sub}, access denied`);
    const uuid = decodeURIComponent(consumer[1] ?? '');
    if (this.deleted.has(uuid)) return failure(410, `Unit ${uuid} has been deleted`, { deletedId: uuid });
    const found = this.consumers.get(uuid);
    if (!found) return failure(404, `Couldn't find consumer '${uuid}'`);
    const caller = uuidFromCertHeader(headerAsRack(request, 'X_RHSM_SSL_CLIENT_CERT'));
    if (caller === undefined && !this.#basicUser(request)) return failure(401, 'Invalid credentials.');
    if (caller !== undefined && caller !== uuid) return failure(403, 'Access denied');
    return this.#consumerRoute(request, method, consumer[2] ?? '', sub, found, raw);
  }

  #basicUser(request: IncomingMessage): boolean {
    const match = /^Basic\s+(\S+)$/i.exec(request.headers.authorization ?? '');
    if (!match) return false;
    const [login, password] = Buffer.from(match[1] ?? '', 'base64').toString('utf8').split(':');
    return login !== undefined && this.users.get(login) === password;
  }

  #register(request: IncomingMessage, url: URL, raw: string): RhsmAnswer {
    const owner = url.searchParams.get('owner') ?? '';
    const keys = url.searchParams.get('activation_keys');
    if (keys !== null) {
      if (!keys.split(',').every((key) => this.activationKeys.get(key) === owner)) return failure(400, `None of the activation keys specified exist for this org.`);
    } else if (!this.#basicUser(request)) return failure(401, 'Invalid username or password.');
    let body: { name?: unknown; facts?: unknown };
    try {
      body = JSON.parse(raw) as typeof body;
    } catch {
      return failure(400, 'Bad request');
    }
    const uuid = this.nextUuids.shift() ?? randomUUID();
    const consumer: StandInConsumer = { uuid, name: String(body.name), owner, facts: (body.facts ?? {}) as Record<string, unknown>, checkins: 0, contentModified: new Date(Math.floor(Date.now() / 1000) * 1000) };
    this.consumers.set(uuid, consumer);
    const identity = this.identities.get(uuid) ?? { cert: '', key: '' };
    return json(200, { ...this.#view(consumer), idCert: { ...identity, serial: { serial: 1 } } });
  }

  #view(consumer: StandInConsumer): Record<string, unknown> {
    return { uuid: consumer.uuid, name: consumer.name, owner: { key: consumer.owner }, facts: consumer.facts, lastCheckin: null };
  }

  async #consumerRoute(request: IncomingMessage, method: string, rest: string, sub: string, consumer: StandInConsumer, raw: string): Promise<RhsmAnswer> {
    const upload = UPLOADS.map((pattern) => pattern.exec(sub)).find((match) => match !== null);
    if (upload && method === 'PUT') {
      await new Promise((resolve) => setTimeout(resolve, this.profileDelayMs));
      this.uploads.push({ kind: upload[2] ?? '', uuid: consumer.uuid, body: JSON.parse(raw) as unknown, at: Date.now() });
      return upload[2] === 'tracer' ? json(200, { message: 'Tracer profile updated' }) : json(200, this.#view(consumer));
    }
    if (rest === '' || rest === '/') {
      if (method === 'GET') return json(200, this.#view(consumer));
      if (method === 'DELETE') {
        this.consumers.delete(consumer.uuid);
        this.deleted.add(consumer.uuid);
        return { status: 204, headers: { 'x-candlepin-version': VERSION_HEADER['x-candlepin-version'] }, body: '' };
      }
      if (method === 'PUT') {
        const body = JSON.parse(raw) as { facts?: Record<string, unknown> };
        if (body.facts) consumer.facts = body.facts;
        this.uploads.push({ kind: 'consumer', uuid: consumer.uuid, body, at: Date.now() });
        return json(200, { content: 'Facts successfully updated.' });
      }
    }
    if (/^\/certificates\/serials\/?$/.test(rest) && method === 'GET') {
      consumer.checkins += 1;
      return json(200, [{ serial: 4242, id: 4242 }]);
    }
    if (/^\/accessible_content\/?$/.test(rest) && method === 'GET') {
      const since = Date.parse(request.headers['if-modified-since'] ?? '');
      const lastModified = consumer.contentModified.toUTCString();
      if (Number.isFinite(since) && since >= consumer.contentModified.getTime()) return { status: 304, headers: { 'last-modified': lastModified, 'x-candlepin-version': VERSION_HEADER['x-candlepin-version'] }, body: '' };
      return json(200, { contentListing: { '1': ['-----BEGIN CERTIFICATE-----…'] }, lastUpdate: consumer.contentModified.toISOString() }, { 'last-modified': lastModified, etag: `"${consumer.contentModified.getTime()}"` });
    }
    return failure(404, `Unknown proxy route ${method} ${sub}, access denied`);
  }
}
