/**
 * Host keys of the targets, with OpenSSH's `StrictHostKeyChecking=accept-new` semantics as the
 * smart-proxy uses them: a host seen for the first time is remembered, a known host must show
 * one of its known keys, and any other key fails the job — a key of another type too, since a
 * host that suddenly offers only a type we have never seen from it looks exactly like a
 * man in the middle that lacks the old private key. A job with `first_execution` forgets the
 * host first (the host was just provisioned and has a new key). The file is OpenSSH's
 * known_hosts format, so `ssh-keygen -R` and friends work on it. Each rex worker keeps its own,
 * like each proxy.
 */
import { randomBytes } from 'node:crypto';
import { appendFile, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import ssh2, { type ServerHostKeyAlgorithm } from 'ssh2';

export type HostKeyVerdict = 'known' | 'added' | 'changed';

export interface HostKeyCheck {
  readonly verdict: HostKeyVerdict;
  /** The type of the key the host offered (`ssh-ed25519`, `ssh-rsa`...). */
  readonly offeredType: string;
  /** The types known for the host before this check. */
  readonly knownTypes: readonly string[];
}

/** The host-key algorithms ssh2 can negotiate for a key type in known_hosts. */
const ALGORITHMS_OF_TYPE: Readonly<Record<string, readonly ServerHostKeyAlgorithm[]>> = {
  'ssh-ed25519': ['ssh-ed25519'],
  'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
  'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
  'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
};

/**
 * Host-key algorithms to ask for first, as OpenSSH does: the ones of the keys already known, so
 * that a host offering several types shows the one we can check instead of failing the job.
 */
export const preferredHostKeyAlgorithms = (knownTypes: readonly string[]): ServerHostKeyAlgorithm[] => [...new Set(knownTypes.flatMap((type) => ALGORITHMS_OF_TYPE[type] ?? []))];

/** known_hosts names a non-default port as `[host]:port`. */
export const hostPattern = (host: string, port: number): string => (port === 22 ? host.toLowerCase() : `[${host.toLowerCase()}]:${port}`);

const typesOf = (entries: readonly string[][]): string[] => [...new Set(entries.flatMap((fields) => (fields[1] ? [fields[1]] : [])))];

export class KnownHosts {
  readonly #path: string;
  /** Serialises writes: concurrent jobs append to one file. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(path: string) {
    this.#path = path;
  }

  async #lines(): Promise<string[]> {
    try {
      return (await readFile(this.#path, 'utf8')).split('\n').filter((line) => line.trim() !== '' && !line.startsWith('#'));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
  }

  #serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(work, work);
    this.#queue = next.catch(() => undefined);
    return next;
  }

  /** The host's entries, each as its fields (names, type, key). */
  async #entries(host: string, port: number): Promise<string[][]> {
    const pattern = hostPattern(host, port);
    return (await this.#lines()).map((line) => line.split(/\s+/)).filter(([names]) => names?.split(',').includes(pattern));
  }

  /** The key types known for the host (empty for a host never seen). */
  async knownTypes(host: string, port: number): Promise<string[]> {
    return typesOf(await this.#entries(host, port));
  }

  /** `key` is the host key in SSH wire format, as ssh2's hostVerifier receives it. */
  verify(host: string, port: number, key: Buffer): Promise<HostKeyCheck> {
    return this.#serial(async () => {
      const parsed = ssh2.utils.parseKey(key);
      const offeredType = parsed instanceof Error ? 'ssh-unknown' : parsed.type;
      const entries = await this.#entries(host, port);
      const check = (verdict: HostKeyVerdict): HostKeyCheck => ({ verdict, offeredType, knownTypes: typesOf(entries) });
      if (entries.some((fields) => fields[1] === offeredType && fields[2] === key.toString('base64'))) return check('known');
      // Only a host we know nothing about may introduce a key, whatever its type.
      if (entries.length > 0) return check('changed');
      await mkdir(dirname(this.#path), { recursive: true, mode: 0o700 });
      await appendFile(this.#path, `${hostPattern(host, port)} ${offeredType} ${key.toString('base64')}\n`, { mode: 0o600 });
      return check('added');
    });
  }

  /** Drops every entry of the host (the smart-proxy does this on a host's first execution). */
  forget(host: string, port: number): Promise<void> {
    return this.#serial(async () => {
      const pattern = hostPattern(host, port);
      const lines = await this.#lines();
      const kept = lines.filter((line) => !line.split(/\s+/)[0]?.split(',').includes(pattern));
      if (kept.length === lines.length) return;
      const temporary = `${this.#path}.${randomBytes(6).toString('hex')}.tmp`;
      await writeFile(temporary, kept.map((line) => `${line}\n`).join(''), { mode: 0o600 });
      await rename(temporary, this.#path);
    });
  }
}
