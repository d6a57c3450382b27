/**
 * A real OpenSSH server for the REX tests, run by the test itself (as the current user) on a
 * free port of several loopback addresses, with its own host key and authorized_keys in a
 * temporary directory. Nothing of the machine's own sshd is touched.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.ts';
import { waitFor } from './wait-for.ts';

export const SSHD = '/usr/sbin/sshd';
/** Loopback aliases a test can use as distinct hosts (Linux routes all of 127/8 to lo). */
export const LOOPBACK_HOSTS = ['127.0.0.1', '127.0.0.2', '127.0.0.3'];

export type HostKeyType = 'ed25519' | 'ecdsa' | 'rsa';

export interface TestSshd {
  readonly port: number;
  readonly dir: string;
  /** Replaces authorized_keys (sshd reads it on every login). */
  authorize(publicKey: string): void;
  /**
   * Makes a new host key and restarts, as a rebuilt host would present; with `type`, the host
   * then offers only a key of that type.
   */
  rotateHostKey(type?: HostKeyType): Promise<void>;
  /** Restarts offering a second host key of `type` besides the current one (as most hosts do). */
  addHostKey(type: HostKeyType): Promise<void>;
  /** Puts an executable on the PATH of every SSH session (a stand-in for sudo, dzdo...). */
  installCommand(name: string, script: string): void;
  stop(): Promise<void>;
}

const answers = (port: number, host: string): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = createConnection({ port, host }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });

export async function startSshd(options: { maxStartups?: number; hostKeyType?: HostKeyType } = {}): Promise<TestSshd> {
  if (!existsSync(SSHD)) throw new Error(`${SSHD} is missing: install openssh-server (npm test does, as root)`);
  const dir = mkdtempSync(join(tmpdir(), 'proxyhub-sshd-'));
  const port = await freePort();
  const hostKey = join(dir, 'host_key');
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  const makeHostKey = (type: HostKeyType, path = hostKey): void => {
    rmSync(path, { force: true });
    rmSync(`${path}.pub`, { force: true });
    execFileSync('ssh-keygen', ['-q', '-t', type, ...(type === 'rsa' ? ['-b', '2048'] : []), '-N', '', '-f', path]);
  };
  /** sshd offers the keys of `-h` as well as the config's HostKey. */
  let extraHostKeys: string[] = [];
  let keyType = options.hostKeyType ?? 'ed25519';
  makeHostKey(keyType);
  writeFileSync(join(dir, 'authorized_keys'), '', { mode: 0o600 });
  const maxStartups = options.maxStartups ?? 100;
  writeFileSync(
    join(dir, 'sshd_config'),
    [
      `Port ${port}`,
      ...[...LOOPBACK_HOSTS, '::1'].map((address) => `ListenAddress ${address}`),
      `HostKey ${hostKey}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'PermitRootLogin prohibit-password',
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no',
      `MaxStartups ${maxStartups}:30:${maxStartups * 2}`,
      // sshd sets SetEnv after its default PATH, so commands installed by the test come first.
      // SHLVL=1: bash sources ~/.bashrc for a command run over SSH only when it is the first
      // shell level. The test host is this machine, whose root may have a slow shell start-up
      // (a pyenv init: a second per session, serialized by its lock); real hosts have their own.
      `SetEnv PATH=${bin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin SHLVL=1`,
      'MaxSessions 50',
      'LogLevel ERROR',
      '',
    ].join('\n'),
  );
  // sshd wants its privilege-separation directory.
  mkdirSync('/run/sshd', { recursive: true });
  let child: ChildProcess | undefined;
  const launch = async (): Promise<void> => {
    const process = spawn(SSHD, ['-D', '-e', '-f', join(dir, 'sshd_config'), ...extraHostKeys.flatMap((path) => ['-h', path])], { stdio: ['ignore', 'ignore', 'pipe'] });
    const errors: string[] = [];
    process.stderr?.on('data', (chunk: Buffer) => errors.push(chunk.toString()));
    child = process;
    await waitFor(async () => process.exitCode !== null || (await answers(port, '127.0.0.1')), { timeoutMs: 10_000, what: 'sshd to listen' });
    if (process.exitCode !== null) throw new Error(`sshd exited: ${errors.join('')}`);
  };
  const halt = async (): Promise<void> => {
    const running = child;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGTERM');
    await exited;
  };
  await launch();
  return {
    port,
    dir,
    authorize: (publicKey) => writeFileSync(join(dir, 'authorized_keys'), `${publicKey.trim()}\n`, { mode: 0o600 }),
    async rotateHostKey(type) {
      await halt();
      keyType = type ?? keyType;
      makeHostKey(keyType);
      extraHostKeys = [];
      await launch();
    },
    async addHostKey(type) {
      await halt();
      const path = join(dir, `host_key_${type}`);
      makeHostKey(type, path);
      extraHostKeys = [path];
      await launch();
    },
    installCommand: (name, script) => writeFileSync(join(bin, name), script, { mode: 0o755 }),
    async stop() {
      await halt();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
