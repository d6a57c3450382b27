/** HTML rendering: without the oscap tool, a clear PROXYHUB_OSCAP_UNAVAILABLE (501), not a crash. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { renderArfHtml } from '../../hub/control/oscap-html.ts';
import { arfFixtures } from '../helpers/arf.ts';

const dir = mkdtempSync(join(tmpdir(), 'proxyhub-oscap-test-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const fixture = arfFixtures()[0];
if (!fixture) throw new Error('no ARF fixture');
const path = join(dir, 'report.xml.bz2');
writeFileSync(path, fixture.bzip2);

t.test('a missing oscap is PROXYHUB_OSCAP_UNAVAILABLE', async (t) => {
  await t.rejects(renderArfHtml(path, join(dir, 'no-such-oscap')), { code: 'PROXYHUB_OSCAP_UNAVAILABLE', status: 501 });
});

t.test('a tool that fails is an internal error naming its last words', async (t) => {
  await t.rejects(renderArfHtml(path, 'false'), { code: 'PROXYHUB_INTERNAL', message: /exit 1/ });
});

t.test('the report reaches the tool decompressed', async (t) => {
  // `head -c` stands in for oscap: it prints the start of the file it is given as the last argument.
  const fake = join(dir, 'fake-oscap');
  writeFileSync(fake, '#!/bin/sh\nfor last; do :; done\nhead -c 5 "$last"\n', { mode: 0o755 });
  t.equal((await renderArfHtml(path, fake)).toString(), '<?xml');
});
