/**
 * Debian's `docker-registry` (distribution 2.8) on a loopback port with its own storage, and a
 * tiny OCI image layout built by hand (one tar layer, a config, a manifest, index.json), for the
 * container gateway's end-to-end test with the unmodified `skopeo`.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixedTestPort } from './hub-harness.ts';
import { waitFor } from './wait-for.ts';

export const DOCKER_REGISTRY = '/usr/bin/docker-registry';
export const SKOPEO = '/usr/bin/skopeo';

export function requireContainerTools(): void {
  for (const tool of [DOCKER_REGISTRY, SKOPEO]) {
    if (!existsSync(tool)) throw new Error(`${tool} is missing: install the Debian packages skopeo and docker-registry (npm test does, as root)`);
  }
}

export interface RunningRegistry {
  readonly url: string;
  readonly port: number;
  /** The registry process, for the benchmark's CPU readings. */
  readonly pid: number | undefined;
  stop(): Promise<void>;
}

export async function startDockerRegistry(): Promise<RunningRegistry> {
  const dir = mkdtempSync(join(tmpdir(), 'proxyhub-registry-'));
  const port = fixedTestPort();
  const config = join(dir, 'config.yml');
  writeFileSync(config, ['version: 0.1', 'log:', '  level: error', 'storage:', '  filesystem:', `    rootdirectory: ${join(dir, 'storage')}`, 'http:', `  addr: 127.0.0.1:${port}`, ''].join('\n'));
  const child: ChildProcess = spawn(DOCKER_REGISTRY, ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  const output: string[] = [];
  child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(async () => child.exitCode !== null || (await fetch(`${url}/v2/`).then((r) => r.status === 200, () => false)), { timeoutMs: 15_000, what: 'docker-registry to listen' });
    if (child.exitCode !== null) throw new Error(`docker-registry exited: ${output.join('')}`);
  } catch (error) {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    url,
    port,
    pid: child.pid,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface OciImage {
  readonly dir: string;
  readonly manifestDigest: string;
  readonly layerDigest: string;
  readonly configDigest: string;
}

function sha256(data: Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** An OCI layout at `dir` holding one image tagged `tag`: one uncompressed tar layer with one file. */
export function buildOciImage(dir: string, tag: string, content: string): OciImage {
  const blobs = join(dir, 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  const root = mkdtempSync(join(tmpdir(), 'proxyhub-layer-'));
  writeFileSync(join(root, 'hello.txt'), content);
  const layerPath = join(root, 'layer.tar');
  execFileSync('tar', ['--sort=name', '--mtime=@0', '--owner=0', '--group=0', '--numeric-owner', '-C', root, '-cf', layerPath, 'hello.txt']);
  const layer = readFileSync(layerPath);
  rmSync(root, { recursive: true, force: true });
  const put = (data: Buffer): string => {
    const digest = sha256(data);
    writeFileSync(join(blobs, digest.slice('sha256:'.length)), data);
    return digest;
  };
  const layerDigest = put(layer);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [layerDigest] } }));
  const configDigest = put(config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layerDigest, size: layer.length }],
    }),
  );
  const manifestDigest = put(manifest);
  writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(
    join(dir, 'index.json'),
    JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: manifestDigest, size: manifest.length, annotations: { 'org.opencontainers.image.ref.name': tag } }] }),
  );
  return { dir, manifestDigest, layerDigest, configDigest };
}

/** The layer digests of the image tagged `tag` in an OCI layout. */
export function ociLayerDigests(dir: string, tag: string): string[] {
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string; annotations?: Record<string, string> }> };
  const entry = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === tag) ?? index.manifests[0];
  const manifest = JSON.parse(readFileSync(join(dir, 'blobs', 'sha256', (entry?.digest ?? '').slice('sha256:'.length)), 'utf8')) as { layers: Array<{ digest: string }> };
  return manifest.layers.map((layer) => layer.digest);
}
