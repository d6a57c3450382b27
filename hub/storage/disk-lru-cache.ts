/**
 * Files kept on disk under a byte bound, least recently used out first. The order lives in memory
 * and, as each file's mtime (set on every use), on disk: after a restart the files already there
 * count toward the bound, oldest use first out.
 *
 * Several processes may share the directory (openscap workers on one volume): each bounds what it
 * knows of, and a file another one removed is simply a miss. Leftover temporary files of an
 * interrupted write are not counted (another process may be writing one).
 */
import { readdir, readFile, stat, unlink, utimes } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { writeFileAtomically } from './atomic-write.ts';

const missing = (error: unknown): boolean => (error as NodeJS.ErrnoException).code === 'ENOENT';

export class DiskLruCache {
  readonly #root: string;
  readonly #maxBytes: number;
  /** Relative path → size, in order of last use (Map order: oldest first). */
  #entries: Promise<Map<string, number>> | undefined;
  #bytes = 0;

  constructor(root: string, maxBytes: number) {
    this.#root = root;
    this.#maxBytes = maxBytes;
  }

  /** Bytes of the files this process knows of. */
  get bytes(): number {
    return this.#bytes;
  }

  /** `key` is a relative path its caller built from checked parts. */
  async read(key: string): Promise<Buffer | undefined> {
    const entries = await this.#index();
    const path = join(this.#root, key);
    const bytes = await readFile(path).catch(() => undefined);
    this.#forget(entries, key);
    if (bytes === undefined) return undefined;
    this.#remember(entries, key, bytes.length);
    const now = new Date();
    await utimes(path, now, now).catch(() => undefined);
    return bytes;
  }

  /** Stores the file, then removes the least recently used ones past the bound. A file larger than
   * the whole bound is not stored (it would evict everything and then itself). */
  async write(key: string, bytes: Buffer): Promise<void> {
    if (bytes.length > this.#maxBytes) return;
    const entries = await this.#index();
    await writeFileAtomically(join(this.#root, key), bytes);
    this.#forget(entries, key);
    this.#remember(entries, key, bytes.length);
    await this.#evict(entries);
  }

  async #evict(entries: Map<string, number>): Promise<void> {
    for (const oldest of entries.keys()) {
      if (this.#bytes <= this.#maxBytes) break;
      this.#forget(entries, oldest);
      // Directories (one per policy) stay: removing one could race a write into it.
      await unlink(join(this.#root, oldest)).catch((error: unknown) => (missing(error) ? undefined : Promise.reject(error)));
    }
  }

  #remember(entries: Map<string, number>, key: string, size: number): void {
    entries.set(key, size);
    this.#bytes += size;
  }

  #forget(entries: Map<string, number>, key: string): void {
    const size = entries.get(key);
    if (size === undefined) return;
    entries.delete(key);
    this.#bytes -= size;
  }

  #index(): Promise<Map<string, number>> {
    this.#entries ??= this.#scan();
    return this.#entries;
  }

  async #scan(): Promise<Map<string, number>> {
    const found: Array<{ key: string; size: number; used: number }> = [];
    // A directory that cannot be listed is an empty cache: the bound then covers what is written now.
    const names = await readdir(this.#root, { recursive: true }).catch(() => []);
    for (const name of names) {
      if (name.endsWith('.tmp')) continue;
      const info = await stat(join(this.#root, name)).catch(() => undefined);
      if (info?.isFile()) found.push({ key: relative(this.#root, join(this.#root, name)).split(sep).join('/'), size: info.size, used: info.mtimeMs });
    }
    found.sort((a, b) => a.used - b.used);
    const entries = new Map<string, number>();
    for (const { key, size } of found) this.#remember(entries, key, size);
    // The bound may have been lowered since those were written.
    await this.#evict(entries).catch(() => undefined);
    return entries;
  }
}
