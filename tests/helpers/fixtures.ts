/** The real-world fixtures in tests/fixtures/, as the clients would send them. */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES } from './hub-harness.ts';

export interface FactsFixture {
  readonly name: string;
  readonly body: { name: string; facts: Record<string, unknown>; certname?: string };
}

function hostNameOf(facts: Record<string, unknown>, file: string): string {
  const networking = facts.networking as { fqdn?: string } | undefined;
  const ansible = facts.ansible_facts as { ansible_fqdn?: string } | undefined;
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- fixture facts hold the fqdn as a string
  return String(facts.fqdn ?? networking?.fqdn ?? ansible?.ansible_fqdn ?? file.replace(/\.json$/, ''));
}

/** Every facts fixture as a Foreman facts upload body (the values-only files are wrapped as node.rb does). */
export function factsFixtures(): FactsFixture[] {
  const dir = join(FIXTURES, 'facts');
  const files = readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => join(dir, f));
  files.push(join(dir, 'expected', 'node.rb-push-facts-body.fake.host.fqdn.com.json'));
  return files.map((path) => {
    const json = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    const file = path.split('/').pop() as string;
    const body = typeof json.name === 'string' && typeof json.facts === 'object' ? (json as FactsFixture['body']) : { name: hostNameOf(json, file), facts: json };
    return { name: file, body };
  });
}

export interface ReportFixture {
  readonly name: string;
  readonly format: 'puppet' | 'ansible';
  readonly contentType: string;
  readonly payload: string;
  readonly expectedReport: unknown;
  readonly expectedFacts: unknown;
}

export function reportFixtures(): ReportFixture[] {
  const dir = join(FIXTURES, 'reports');
  const expected = join(dir, 'expected');
  const expectedFiles = readdirSync(expected);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json') || f.endsWith('.yaml'))
    .map((name) => {
      const puppet = name.endsWith('.yaml');
      const reportSnapshot = puppet ? `${name}.snapshot.json` : `${name}.report.snapshot.json`;
      const factsSnapshot = `${name}.facts.snapshot.json`;
      return {
        name,
        format: puppet ? 'puppet' : 'ansible',
        contentType: puppet ? 'application/x-yaml' : 'application/json',
        payload: readFileSync(join(dir, name), 'utf8'),
        expectedReport: JSON.parse(readFileSync(join(expected, reportSnapshot), 'utf8')) as unknown,
        expectedFacts: expectedFiles.includes(factsSnapshot) ? (JSON.parse(readFileSync(join(expected, factsSnapshot), 'utf8')) as unknown) : null,
      } as const;
    });
}

/** Blanks exactly what smart_proxy_reports' own tests blank before comparing. */
export function normaliseHostReport(report: unknown): unknown {
  const copy = JSON.parse(JSON.stringify(report)) as { host_report: { reported_at: string; body: Record<string, unknown> | string } };
  // smart_proxy_reports sends the body as a JSON string unless the client asked otherwise.
  if (typeof copy.host_report.body === 'string') copy.host_report.body = JSON.parse(copy.host_report.body) as Record<string, unknown>;
  copy.host_report.reported_at = '';
  Object.assign(copy.host_report.body, { reported_at: '', reported_at_proxy: '', id: '', telemetry: {} });
  return copy;
}
