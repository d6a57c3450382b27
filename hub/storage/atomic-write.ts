/**
 * Writes a file so that readers see either nothing or all of it: into a uniquely named temporary
 * file beside it, then renamed into place (atomic on one file system).
 *
 * What is written here is host data (ARF reports name a host's failed rules; policy files its
 * hardening): never world-readable. Files are 0640 and directories this creates 0750 — group kept
 * for a backup or operator group — set with chmod after creating, so a umask of 0 (a container
 * default) cannot loosen them.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, rename, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

export const HOST_DATA_FILE_MODE = 0o640;
export const HOST_DATA_DIR_MODE = 0o750;

export async function writeFileAtomically(path: string, bytes: Buffer): Promise<void> {
  await makeDirectories(dirname(path));
  const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    // Created exclusively with the mode, then chmod: the mode at creation is narrowed by the umask
    // but never widened, so the file is not readable by others at any moment.
    await writeFile(temporary, bytes, { mode: HOST_DATA_FILE_MODE, flag: 'wx' });
    await chmod(temporary, HOST_DATA_FILE_MODE);
    await rename(temporary, path);
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    throw error;
  }
}

/** mkdir -p, each directory it creates given the host-data mode; existing ones are not touched. */
async function makeDirectories(directory: string): Promise<void> {
  const first = await mkdir(directory, { recursive: true, mode: HOST_DATA_DIR_MODE });
  if (first === undefined) return;
  for (let created = directory; ; created = dirname(created)) {
    await chmod(created, HOST_DATA_DIR_MODE);
    if (created === first || dirname(created) === created) return;
  }
}
