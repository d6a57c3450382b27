/**
 * A stored ARF report rendered as HTML by OpenSCAP's own `oscap xccdf generate report`, as the
 * smart-proxy does. The bzip2 file is decompressed into a private temporary file first (oscap
 * reads plain XML), streamed, so a large report never sits in memory.
 */
import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ProxyhubError, coerceError } from '../../contracts/errors.ts';
import { Bunzip2Decoder } from '../codec/bzip2/decoder.ts';

/** oscap on a 2 MB report takes about a second; this bounds a stuck one. */
const RENDER_TIMEOUT_MS = 120_000;
/** Largest HTML passed back (real reports render to a few MB). */
const MAX_HTML_BYTES = 256 * 1024 * 1024;

function bunzip2Transform(): Transform {
  let decoder: Bunzip2Decoder;
  return new Transform({
    construct(callback) {
      decoder = new Bunzip2Decoder((bytes) => this.push(Buffer.from(bytes)));
      callback();
    },
    transform(chunk: Buffer, _encoding, callback) {
      try {
        decoder.push(chunk);
        callback();
      } catch (error) {
        callback(coerceError(error));
      }
    },
    flush(callback) {
      try {
        decoder.end();
        callback();
      } catch (error) {
        callback(coerceError(error));
      }
    },
  });
}

function runOscap(oscapPath: string, xmlPath: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(oscapPath, ['xccdf', 'generate', 'report', xmlPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    // Not spawn's own `timeout`: its timer is cleared on 'exit' only, which a tool that cannot be
    // started never emits, so every render without oscap left a two-minute timer behind.
    const deadline = setTimeout(() => child.kill('SIGKILL'), RENDER_TIMEOUT_MS);
    const out: Buffer[] = [];
    let size = 0;
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_HTML_BYTES) child.kill('SIGKILL');
      else out.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = `${stderr}${chunk.toString('utf8')}`.slice(-2000);
    });
    child.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(deadline);
      reject(error.code === 'ENOENT' || error.code === 'EACCES'
        ? new ProxyhubError('PROXYHUB_OSCAP_UNAVAILABLE', `cannot run ${oscapPath}: install openscap-scanner on this host (or set PROXYHUB_OSCAP_PATH)`, { cause: error })
        : new ProxyhubError('PROXYHUB_INTERNAL', `oscap failed to start: ${error.message}`, { cause: error }));
    });
    child.once('close', (code, signal) => {
      clearTimeout(deadline);
      if (code === 0) resolve(Buffer.concat(out));
      else reject(new ProxyhubError('PROXYHUB_INTERNAL', `oscap could not render the report (${signal ?? `exit ${code}`}): ${stderr.trim().split('\n').at(-1) ?? ''}`));
    });
  });
}

export async function renderArfHtml(bzip2Path: string, oscapPath: string): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), 'proxyhub-oscap-'));
  try {
    const xmlPath = join(dir, 'report.xml');
    await pipeline(createReadStream(bzip2Path), bunzip2Transform(), createWriteStream(xmlPath, { mode: 0o600 }));
    return await runOscap(oscapPath, xmlPath);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
