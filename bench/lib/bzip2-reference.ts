/**
 * The reference the openscap worker's CPU is held against: the system's C `bzip2 -dc` on the same
 * file, output to /dev/null, timed in the same run. bash runs the copies one after another and
 * `times` reports its children's user + system CPU (to the millisecond), so nothing else this
 * process starts or reaps meanwhile is counted.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** "0m0.812s" → 812 */
function minutesSecondsToMs(text: string): number {
  const match = /^(\d+)m([\d.]+)s$/.exec(text);
  if (match === null) throw new Error(`bash times printed "${text}"`);
  return (Number(match[1]) * 60 + Number(match[2])) * 1000;
}

/** Mean CPU ms (user + system) of one `bzip2 -dc <file> > /dev/null` over `copies` runs. */
export async function bzip2CpuMsPerCopy(file: string, copies: number): Promise<number> {
  const script = 'for ((i = 0; i < $2; i++)); do bzip2 -dc -- "$1" > /dev/null || exit 1; done; times';
  const { stdout } = await run('bash', ['-c', script, 'bzip2-reference', file, String(copies)]);
  // times: the shell's own user/system, then its children's.
  const children = stdout.trim().split('\n')[1]?.trim().split(/\s+/) ?? [];
  if (children.length !== 2) throw new Error(`bash times printed "${stdout.trim()}"`);
  return (minutesSecondsToMs(children[0] as string) + minutesSecondsToMs(children[1] as string)) / copies;
}
