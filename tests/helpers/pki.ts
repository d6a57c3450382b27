/**
 * A throwaway PKI made per test run with the openssl command line: a CA, a server certificate
 * for 127.0.0.1/localhost, client certificates (valid, from another CA, expired). Nothing of it
 * outlives the test.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface CertFiles {
  readonly cert: string;
  readonly key: string;
}

export interface TestPki {
  readonly dir: string;
  readonly caCert: string;
  readonly server: CertFiles;
  client(cn: string, options?: { ca?: 'main' | 'other'; expired?: boolean }): CertFiles;
  read(path: string): Buffer;
  remove(): void;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

function makeCa(dir: string, name: string): { cert: string; key: string } {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.crt`);
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${name}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
  return { cert, key };
}

/** `openssl ca` takes explicit validity dates, which is how an already expired cert is made. */
function caConfig(dir: string, ca: { cert: string; key: string }, name: string): string {
  const base = join(dir, `${name}-db`);
  execFileSync('mkdir', ['-p', base]);
  writeFileSync(join(base, 'index.txt'), '');
  writeFileSync(join(base, 'serial'), `${Date.now().toString(16).padStart(16, '0')}\n`);
  const config = join(dir, `${name}.cnf`);
  writeFileSync(
    config,
    [
      '[ca]',
      'default_ca = test_ca',
      '[test_ca]',
      `database = ${base}/index.txt`,
      `serial = ${base}/serial`,
      `new_certs_dir = ${base}`,
      `certificate = ${ca.cert}`,
      `private_key = ${ca.key}`,
      'default_md = sha256',
      'policy = anything',
      'unique_subject = no',
      'copy_extensions = copy',
      '[anything]',
      'commonName = supplied',
      '[client_ext]',
      'basicConstraints = CA:FALSE',
      'keyUsage = digitalSignature, keyEncipherment',
      'extendedKeyUsage = clientAuth, serverAuth',
      '',
    ].join('\n'),
  );
  return config;
}

export function createTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'proxyhub-pki-'));
  const main = makeCa(dir, 'test-ca');
  const other = makeCa(dir, 'other-ca');
  const configs = { main: caConfig(dir, main, 'test-ca'), other: caConfig(dir, other, 'other-ca') };
  let count = 0;

  function issue(cn: string, ca: 'main' | 'other', dates: { start?: string; end?: string }, san?: string): CertFiles {
    count += 1;
    const key = join(dir, `cert-${count}.key`);
    const csr = join(dir, `cert-${count}.csr`);
    const cert = join(dir, `cert-${count}.crt`);
    openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', csr, '-subj', `/CN=${cn}`, ...(san ? ['-addext', `subjectAltName=${san}`] : [])], dir);
    const validity = dates.start && dates.end ? ['-startdate', dates.start, '-enddate', dates.end] : ['-days', '2'];
    openssl(['ca', '-batch', '-notext', '-config', configs[ca], '-extensions', 'client_ext', '-in', csr, '-out', cert, ...validity], dir);
    return { cert, key };
  }

  const server = issue('localhost', 'main', {}, 'DNS:localhost,IP:127.0.0.1');
  return {
    dir,
    caCert: main.cert,
    server,
    client: (cn, options = {}) => issue(cn, options.ca ?? 'main', options.expired ? { start: '20200101000000Z', end: '20200102000000Z' } : {}),
    read: (path) => readFileSync(path),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
