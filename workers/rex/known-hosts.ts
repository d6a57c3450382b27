/**
 * Host keys of the targets, with OpenSSH's `StrictHostKeyChecking=accept-new` semantics as the
 * smart-proxy uses them: a host seen for the first time is remembered, a known host must show the
 * same key, and a changed key fails the job. A job with `first_execution` forgets the host first
 * (the host was just provisioned and has a new key). The file is OpenSSH's known_hosts format,
 * so `ssh-keygen -R` and friends work on it. Each rex worker keeps its own, like each proxy.
 */
import { randomBytes } from 'node:crypto';
import { appendFile, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import ssh2 from 'ssh2';

export type HostKeyVerdict = 'known' | 'added' | 'changed';

/** known_hosts names a non-default port as `[host]:port`. */
export const hostPattern = (host: string, port: number): string => (port === 22 ? host.toLowerCase() : `[${host.toLowerCase()}]:${port}`);

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

  /** `key` is the host key in SSH wire format, as ssh2's hostVerifier receives it. */
  verify(host: string, port: number, key: Buffer): Promise<HostKeyVerdict> {
    return this.#serial(async () => {
      const parsed = ssh2.utils.parseKey(key);
      const type = parsed instanceof Error ? 'ssh-unknown' : parsed.type;
      const pattern = hostPattern(host, port);
      const entries = (await this.#lines()).map((line) => line.split(/\s+/)).filter(([names]) => names?.split(',').includes(pattern));
      const sameType = entries.filter((fields) => fields[1] === type);
      if (sameType.some((fields) => fields[2] === key.toString('base64'))) return 'known';
      if (sameType.length > 0) return 'changed';
      await mkdir(dirname(this.#path), { recursive: true, mode: 0o700 });
      await appendFile(this.#path, `${pattern} ${type} ${key.toString('base64')}\n`, { mode: 0o600 });
      return 'added';
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
