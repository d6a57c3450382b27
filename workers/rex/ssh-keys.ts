/**
 * The proxy's REX key pair: `PROXYHUB_SSH_KEY` when set, else `<data dir>/ssh/id_proxyhub`,
 * generated on first start (ed25519, OpenSSH format, as `ssh-keygen` would write it) so a fresh
 * install has a key to hand out at /ssh/pubkey, as operators expect of a smart-proxy install.
 */
import { randomBytes } from 'node:crypto';
import { chmod, link, mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import ssh2 from 'ssh2';
import { ProxyhubError } from '../../contracts/errors.ts';

export interface SshKeyPair {
  readonly privateKey: Buffer;
  /** One line, `ssh-ed25519 AAAA… comment`, as in authorized_keys. */
  readonly publicKey: string;
  readonly path: string;
}

export function defaultKeyPath(dataDir: string): string {
  return join(dataDir, 'ssh', 'id_proxyhub');
}

async function readIfThere(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

const temporaryBeside = (path: string): string => `${path}.${randomBytes(6).toString('hex')}.tmp`;

/** Writes beside, then renames: a crash mid-write never leaves half a file behind. */
async function writeAtomically(path: string, content: string, mode: number): Promise<void> {
  const temporary = temporaryBeside(path);
  await writeFile(temporary, content, { mode });
  await chmod(temporary, mode);
  await rename(temporary, path);
}

/**
 * Puts a complete file at `path` unless one is there already: a hard link never clobbers, so when
 * two workers sharing a data directory start at once, both end up using the one key that won.
 */
async function createOnce(path: string, content: string, mode: number): Promise<void> {
  const temporary = temporaryBeside(path);
  await writeFile(temporary, content, { mode });
  await chmod(temporary, mode);
  try {
    await link(temporary, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    await unlink(temporary).catch(() => undefined);
  }
}

export async function loadOrCreateKeyPair(options: { readonly keyPath: string | undefined; readonly dataDir: string }): Promise<SshKeyPair> {
  const path = options.keyPath ?? defaultKeyPath(options.dataDir);
  let privateKey = await readIfThere(path);
  if (privateKey === undefined) {
    if (options.keyPath !== undefined) throw new ProxyhubError('PROXYHUB_CONFIG_INVALID', `PROXYHUB_SSH_KEY ${path} does not exist`);
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    const pair = ssh2.utils.generateKeyPairSync('ed25519', { comment: `proxyhub@${hostname()}` });
    await createOnce(path, pair.private, 0o600);
    privateKey = await readFile(path);
  }
  const parsed = ssh2.utils.parseKey(privateKey);
  if (parsed instanceof Error) throw new ProxyhubError('PROXYHUB_CONFIG_INVALID', `SSH key ${path} cannot be read: ${parsed.message}`, { cause: parsed });
  // Derived from the private key, never read from `.pub`: the two can never disagree.
  const publicKey = `${parsed.type} ${parsed.getPublicSSH().toString('base64')} ${parsed.comment || 'proxyhub'}`;
  // For operators and ssh-copy-id; proxyhub itself never reads it.
  if (options.keyPath === undefined && (await readIfThere(`${path}.pub`))?.toString('utf8').trim() !== publicKey) await writeAtomically(`${path}.pub`, `${publicKey}\n`, 0o644);
  return { privateKey, publicKey, path };
}
