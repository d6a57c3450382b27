/**
 * Modes of everything under a directory, for tests that host data is never world-readable: files
 * 0640 or 0600, directories 0750 or 0700.
 */
import { lstatSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';

export function modesUnder(root: string): Array<{ path: string; kind: 'file' | 'dir'; mode: number }> {
  const found: Array<{ path: string; kind: 'file' | 'dir'; mode: number }> = [];
  for (const name of readdirSync(root, { recursive: true }) as string[]) {
    const info = lstatSync(join(root, name));
    found.push({ path: relative(root, join(root, name)), kind: info.isDirectory() ? 'dir' : 'file', mode: info.mode & 0o777 });
  }
  return found;
}

/** Entries whose mode is not one of the allowed ones, as `path 0644` lines (empty: all fine). */
export function looseModes(root: string): string[] {
  return modesUnder(root)
    .filter(({ kind, mode }) => !(kind === 'dir' ? [0o750, 0o700] : [0o640, 0o600]).includes(mode))
    .map(({ path, kind, mode }) => `${kind} ${path} ${mode.toString(8).padStart(4, '0')}`);
}

/** Runs `body` with the process umask set to `mask`, restoring the previous one after. */
export async function withUmask<T>(mask: number, body: () => Promise<T>): Promise<T> {
  const previous = process.umask(mask);
  try {
    return await body();
  } finally {
    process.umask(previous);
  }
}
