/**
 * The error catalog and docs/errors.md say the same thing: one section per code, no section for
 * a code that does not exist, and the status and retryable flag each section states are the
 * catalog's. problem+json `type` URIs link to these sections, so the anchors are checked too.
 */
import { readFileSync } from 'node:fs';
import t from 'tap';
import { errorCatalog, retryAfterOf, type ErrorCode } from '../../contracts/errors.ts';
import { problemTypeUri } from '../../contracts/http/problem.ts';

const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');

interface Section {
  readonly heading: string;
  readonly body: string;
}

/** Splits on level-2 headings; text before the first one is the preamble and not a section. */
function sectionsOf(markdown: string): Section[] {
  return markdown
    .split(/^## /m)
    .slice(1)
    .map((chunk) => {
      const newline = chunk.indexOf('\n');
      return { heading: chunk.slice(0, newline === -1 ? undefined : newline).trim(), body: newline === -1 ? '' : chunk.slice(newline + 1) };
    });
}

/** Every `- <label>: <value>` line of a section (a section may state a fact only once). */
function facts(body: string, label: string): string[] {
  return [...body.matchAll(new RegExp(`^- ${label}: *(\\S+)`, 'gm'))].map((match) => match[1] ?? '');
}

/** GitHub's heading anchor: lower case, punctuation other than `-` and `_` dropped, spaces to `-`. */
function githubAnchor(heading: string): string {
  return heading.toLowerCase().replace(/[^\w\- ]/g, '').replaceAll(' ', '-');
}

const sections = sectionsOf(doc);
const codes = Object.keys(errorCatalog) as ErrorCode[];
const isCode = (heading: string): heading is ErrorCode => Object.hasOwn(errorCatalog, heading);

t.test('the doc has sections to compare', async (t) => {
  t.ok(sections.length > 0, 'at least one ## section');
  t.ok(codes.length > 0, 'the catalog is not empty');
});

t.test('every catalog code has exactly one section', async (t) => {
  for (const code of codes) {
    t.equal(sections.filter((s) => s.heading === code).length, 1, `## ${code}`);
  }
});

t.test('every section is a catalog code', async (t) => {
  const strays = sections.map((s) => s.heading).filter((heading) => !isCode(heading));
  t.strictSame(strays, [], 'sections without a code in contracts/errors.ts');
});

t.test('each section states the catalog status', async (t) => {
  for (const { heading, body } of sections.filter((s) => isCode(s.heading))) {
    const code = heading as ErrorCode;
    t.strictSame(facts(body, 'Status'), [String(errorCatalog[code].status)], `${code} status`);
  }
});

t.test('each section states the catalog retryable flag', async (t) => {
  for (const { heading, body } of sections.filter((s) => isCode(s.heading))) {
    const code = heading as ErrorCode;
    t.strictSame(facts(body, 'Retryable'), [errorCatalog[code].retryable ? 'yes' : 'no'], `${code} retryable`);
  }
});

t.test('each section states the catalog Retry-After, and only codes that have one do', async (t) => {
  for (const { heading, body } of sections.filter((s) => isCode(s.heading))) {
    const seconds = retryAfterOf(heading as ErrorCode);
    const line = body.match(/^- Retryable:.*$/m)?.[0] ?? '';
    const stated = line.match(/Retry-After: (\d+)/)?.[1];
    t.equal(stated, seconds === undefined ? undefined : String(seconds), `${heading} Retry-After`);
  }
});

t.test('each section says when it happens and what to do', async (t) => {
  for (const { heading, body } of sections) {
    t.equal(facts(body, 'When').length, 1, `${heading} has a When line`);
    t.equal(facts(body, 'Do').length, 1, `${heading} has a Do line`);
  }
});

t.test('problem type URIs point at the sections of this doc', async (t) => {
  const anchors = new Set(sections.map((s) => githubAnchor(s.heading)));
  for (const code of codes) {
    const uri = new URL(problemTypeUri(code));
    t.match(uri.pathname, /\/docs\/errors\.md$/, `${code} links to docs/errors.md`);
    t.ok(anchors.has(uri.hash.slice(1)), `${code} anchor ${uri.hash} exists`);
  }
});
