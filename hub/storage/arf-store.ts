/**
 * The ARF store: bzip2 reports Foreman accepted, kept for Foreman's download and delete calls.
 *
 * Content-addressed: the bytes live once under their sha256 (`arf/blobs/<aa>/<digest>.xml.bz2`);
 * each report Foreman knows is a marker `arf/reports/<cname>/<id>/<date>/<digest>` (the
 * smart-proxy's own reportsdir layout) plus a back-reference `arf/refs/<digest>/<cname>~<id>~<date>`,
 * so a blob is removed with its last report. Every path is a flat key made of checked
 * components, so a shared volume or an object store (keys = these paths) can back it.
 * Files appear by rename: a reader never sees half a report.
 */
import { createReadStream } from 'node:fs';
import { readdir, rm, rmdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { ProxyhubError, errorMessage } from '../../contracts/errors.ts';
import { writeFileAtomically } from './atomic-write.ts';

/** A report as Foreman names it in its download URLs. */
export interface ArfReportRef {
  readonly cname: string;
  /** Foreman's arf_report id. */
  readonly id: string;
  /** Epoch seconds, as in the upload to Foreman. */
  readonly date: string;
  /** sha256 hex of the bzip2 bytes. */
  readonly digest: string;
}

const DIGEST = /^[0-9a-f]{64}$/;
const NUMBER = /^\d{1,20}$/;
/** Host names, and the odd CN with other characters (kept as one escaped path segment). */
// eslint-disable-next-line no-control-regex -- control characters are exactly what this pattern refuses
const CNAME = /^(?!\.{1,2}$)[^\u0000-\u001f\u007f/\\]{1,255}$/u;

/** Throws a 400 naming the field when a component could escape its directory or is malformed. */
export function checkRef(ref: ArfReportRef): ArfReportRef {
  const bad = (field: string): ProxyhubError => new ProxyhubError('PROXYHUB_INPUT_INVALID', `${field} is malformed`, { field, location: 'params' });
  if (!CNAME.test(ref.cname)) throw bad('cname');
  if (!NUMBER.test(ref.id)) throw bad('id');
  if (!NUMBER.test(ref.date)) throw bad('date');
  if (!DIGEST.test(ref.digest)) throw bad('digest');
  return ref;
}

const storageError = (action: string, error: unknown): ProxyhubError =>
  new ProxyhubError('PROXYHUB_STORAGE_FAILED', `ARF store: ${action}: ${(error as NodeJS.ErrnoException).code ?? errorMessage(error)}`, { cause: error });

const missing = (error: unknown): boolean => (error as NodeJS.ErrnoException).code === 'ENOENT';

export class ArfStore {
  readonly #root: string;

  constructor(dataDir: string) {
    this.#root = join(dataDir, 'arf');
  }

  #blobPath(digest: string): string {
    return join(this.#root, 'blobs', digest.slice(0, 2), `${digest}.xml.bz2`);
  }

  #markerPath(ref: ArfReportRef): string {
    return join(this.#root, 'reports', encodeURIComponent(ref.cname), ref.id, ref.date, ref.digest);
  }

  #refsDir(digest: string): string {
    return join(this.#root, 'refs', digest);
  }

  #backRefPath(ref: ArfReportRef): string {
    return join(this.#refsDir(ref.digest), `${encodeURIComponent(ref.cname)}~${ref.id}~${ref.date}`);
  }

  /** Writes the bytes under their digest unless they are there already (idempotent). */
  async putBlob(digest: string, bytes: Buffer): Promise<void> {
    const path = this.#blobPath(digest);
    try {
      if ((await stat(path)).size === bytes.length) return;
    } catch (error) {
      if (!missing(error)) throw storageError('stat', error);
    }
    await writeFileAtomically(path, bytes).catch((error: unknown) => {
      throw storageError('write', error);
    });
  }

  /** Records that Foreman knows this report (after it accepted the upload). */
  async link(ref: ArfReportRef): Promise<void> {
    checkRef(ref);
    try {
      await writeFileAtomically(this.#backRefPath(ref), Buffer.alloc(0));
      await writeFileAtomically(this.#markerPath(ref), Buffer.alloc(0));
    } catch (error) {
      throw storageError('link', error);
    }
  }

  /** The stored bzip2 bytes of a report Foreman knows, or undefined. */
  async open(ref: ArfReportRef): Promise<{ stream: Readable; size: number } | undefined> {
    checkRef(ref);
    try {
      await stat(this.#markerPath(ref));
      const path = this.#blobPath(ref.digest);
      const { size } = await stat(path);
      return { stream: createReadStream(path), size };
    } catch (error) {
      if (missing(error)) return undefined;
      throw storageError('read', error);
    }
  }

  /** Local path of the blob, for tools that need a file (oscap). */
  blobPath(ref: ArfReportRef): string {
    return this.#blobPath(checkRef(ref).digest);
  }

  /**
   * Forgets a report, as the smart-proxy's DELETE does (its whole `<cname>/<id>` directory), and
   * removes each blob no other report refers to. Returns whether anything was there.
   */
  async remove(ref: ArfReportRef): Promise<boolean> {
    checkRef(ref);
    const reportDir = join(this.#root, 'reports', encodeURIComponent(ref.cname), ref.id);
    const refs: ArfReportRef[] = [];
    try {
      for (const date of await readdir(reportDir).catch((error: unknown) => (missing(error) ? [] : Promise.reject(error)))) {
        for (const digest of await readdir(join(reportDir, date))) refs.push({ ...ref, date, digest });
      }
      await rm(reportDir, { recursive: true, force: true });
      for (const each of refs) {
        await unlink(this.#backRefPath(each)).catch((error: unknown) => (missing(error) ? undefined : Promise.reject(error)));
        await this.#dropBlobIfUnreferenced(each.digest);
      }
    } catch (error) {
      throw storageError('delete', error);
    }
    return refs.length > 0;
  }

  /** For an upload Foreman refused: its blob goes unless some accepted report shares it. */
  async dropBlobIfUnreferenced(digest: string): Promise<void> {
    await this.#dropBlobIfUnreferenced(digest).catch((error: unknown) => {
      throw storageError('delete', error);
    });
  }

  async #dropBlobIfUnreferenced(digest: string): Promise<void> {
    try {
      // rmdir fails on a directory that still holds a back-reference: the blob is still wanted.
      await rmdir(this.#refsDir(digest));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOTEMPTY' || code === 'EEXIST') return;
      if (code !== 'ENOENT') throw error;
    }
    await unlink(this.#blobPath(digest)).catch((error: unknown) => (missing(error) ? undefined : Promise.reject(error)));
  }
}
