/**
 * ARF fixtures as foreman_scap_client sends them, and an independent reading of what is in them:
 * rule results counted straight from the XML text with Foreman's rules, never with the parser
 * under test.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES } from './hub-harness.ts';

export interface ArfFixture {
  readonly name: string;
  readonly bzip2: Buffer;
  readonly sha256: string;
}

export function arfFixtures(): ArfFixture[] {
  const dir = join(FIXTURES, 'arf');
  return readdirSync(dir)
    .filter((file) => file.endsWith('.xml.bz2'))
    .sort()
    .map((file) => {
      const bzip2 = readFileSync(join(dir, file));
      return { name: file.replace(/\.xml\.bz2$/, ''), bzip2, sha256: createHash('sha256').update(bzip2).digest('hex') };
    });
}

export const bzip2 = (bytes: Buffer | string): Buffer => execFileSync('bzip2', ['-c'], { input: bytes, maxBuffer: 1 << 30 });
export const bunzip2 = (bytes: Buffer): Buffer => execFileSync('bzip2', ['-dc'], { input: bytes, maxBuffer: 1 << 30 });

/**
 * Counts `<rule-result>` outcomes in the XCCDF TestResult by regular expression: pass and fixed
 * are passed, fail is failed, notapplicable and notselected are left out, the rest are othered.
 */
export function countRuleResults(xml: string): { passed: number; failed: number; othered: number; score: number } {
  const counts = { passed: 0, failed: 0, othered: 0 };
  for (const match of xml.matchAll(/<(?:[\w-]+:)?rule-result\b[^>]*>[\s\S]*?<(?:[\w-]+:)?result>\s*([a-z]+)\s*<\/(?:[\w-]+:)?result>/g)) {
    const result = match[1];
    if (result === 'pass' || result === 'fixed') counts.passed += 1;
    else if (result === 'fail') counts.failed += 1;
    else if (result !== 'notapplicable' && result !== 'notselected') counts.othered += 1;
  }
  const score = /<(?:[\w-]+:)?score\b[^>]*>\s*([\d.]+)\s*</.exec(xml);
  return { ...counts, score: Number(score?.[1] ?? Number.NaN) };
}
