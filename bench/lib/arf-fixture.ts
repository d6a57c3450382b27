/**
 * The one ARF report every upload sends: the largest ARF fixture in tests/fixtures, with its decompressed size
 * (what the worker parses) and the reading Foreman must get of it (the fixture's expected JSON).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Bunzip2Decoder } from '../../hub/codec/bzip2/decoder.ts';
import type { ExpectedReport } from './arf-foreman.ts';

export const ARF_FIXTURE = 'smart_proxy_openscap-rhel7-rht-ccp';
const FIXTURES = fileURLToPath(new URL('../../tests/fixtures/arf/', import.meta.url));

export interface ArfFixture {
  readonly name: string;
  readonly path: string;
  readonly bzip2: Buffer;
  readonly xmlBytes: number;
  readonly expected: ExpectedReport;
}

export function loadArfFixture(name = ARF_FIXTURE): ArfFixture {
  const path = `${FIXTURES}${name}.xml.bz2`;
  const bzip2 = readFileSync(path);
  let xmlBytes = 0;
  const decoder = new Bunzip2Decoder((bytes) => (xmlBytes += bytes.length));
  decoder.push(bzip2);
  decoder.end();
  const parsed = JSON.parse(readFileSync(`${FIXTURES}expected/${name}.parsed.json`, 'utf8')) as { metrics: ExpectedReport['metrics']; logs: unknown[] };
  return { name, path, bzip2, xmlBytes, expected: { metrics: parsed.metrics, logs: parsed.logs.length } };
}
