/**
 * Would a `bzip2 -dc` child per report cost the openscap worker less CPU than the JS decoder?
 * Both on the rhel7 fixture, in one process grown to the worker's size (spawning forks it): the
 * child's CPU (getrusage of children, from /proc) plus this process's own (spawn, pipes), against
 * the JS decoder's.
 *
 *   node --import tsx bench/bzip2-native-cost.ts [--copies 40]
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Bunzip2Decoder } from '../hub/codec/bzip2/decoder.ts';
import { loadArfFixture } from './lib/arf-fixture.ts';

const { values } = parseArgs({ options: { copies: { type: 'string' } } });
const copies = Number(values.copies ?? 40);
const fixture = loadArfFixture();
/** About the worker's resident set (~200 MiB): fork() copies page tables in proportion. */
const ballast = Array.from({ length: 160 }, () => Buffer.alloc(1 << 20, 1));

/** This process's and its reaped children's CPU ms (user + system), from /proc. */
function cpuMs(): { own: number; children: number } {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
  return { own: ((fields[11] ?? 0) + (fields[12] ?? 0)) * 10, children: ((fields[13] ?? 0) + (fields[14] ?? 0)) * 10 };
}

function nativeCopy(): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('bzip2', ['-dc'], { stdio: ['pipe', 'pipe', 'ignore'] });
    let bytes = 0;
    child.stdout.on('data', (chunk: Buffer) => (bytes += chunk.length));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(bytes) : reject(new Error(`bzip2 exited ${code}`))));
    child.stdin.end(fixture.bzip2);
  });
}

function jsCopy(): number {
  let bytes = 0;
  const decoder = new Bunzip2Decoder((chunk) => (bytes += chunk.length));
  decoder.push(fixture.bzip2);
  decoder.end();
  return bytes;
}

for (let i = 0; i < 5; i += 1) {
  await nativeCopy();
  jsCopy();
}
const before = cpuMs();
for (let i = 0; i < copies; i += 1) if ((await nativeCopy()) !== fixture.xmlBytes) throw new Error('bzip2 -dc gave the wrong length');
const after = cpuMs();
for (let i = 0; i < copies; i += 1) if (jsCopy() !== fixture.xmlBytes) throw new Error('the JS decoder gave the wrong length');
const end = cpuMs();
const per = (ms: number): string => (ms / copies).toFixed(1);
process.stdout.write(
  `${fixture.name}, ${copies} copies each, RSS ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB (${ballast.length} MiB ballast):\n` +
    `  bzip2 -dc child: ${per(after.children - before.children)} ms in the child + ${per(after.own - before.own)} ms in this process (spawn, pipes) = ${per(after.children - before.children + after.own - before.own)} ms per report\n` +
    `  JS decoder:      ${per(end.own - after.own)} ms per report\n`,
);
