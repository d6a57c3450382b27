/**
 * docs/capabilities.asyncapi.json is generated from the zod contracts and must not drift.
 * Regenerate with: PROXYHUB_WRITE_DOCS=1 npx tap --disable-coverage tests/unit/asyncapi-doc.test.ts
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { capabilityAsyncApi } from '../../contracts/asyncapi.ts';

const DOC = fileURLToPath(new URL('../../docs/capabilities.asyncapi.json', import.meta.url));

t.test('the AsyncAPI document matches the contracts', async (t) => {
  const generated = `${JSON.stringify(capabilityAsyncApi(), null, 2)}\n`;
  if (process.env.PROXYHUB_WRITE_DOCS === '1') writeFileSync(DOC, generated);
  t.equal(readFileSync(DOC, 'utf8'), generated, 'regenerate with PROXYHUB_WRITE_DOCS=1 (see the header of this test)');
});
