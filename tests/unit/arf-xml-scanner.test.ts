/**
 * The fast XML scanner against saxes: on every fixture, and on documents built to sit at the edges
 * of its subset, it must either give the collector exactly saxes's calls or give up (NotPlainXml),
 * never accept what saxes refuses; and any chunking gives the same calls. The same when the
 * collector reads no attributes (wantsAttributes false): then they are checked but not built.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SaxesParser } from 'saxes';
import t from 'tap';
import type { XmlEvents } from '../../workers/openscap/arf-types.ts';
import { FastXmlScanner, NotPlainXml } from '../../workers/openscap/arf-xml-scanner.ts';

type Call = readonly [string, ...unknown[]];

function recorder(readsAttributes = true): { events: XmlEvents; calls: Call[] } {
  const calls: Call[] = [];
  return {
    calls,
    events: {
      open: (name, attributes) => calls.push(['open', name, readsAttributes ? { ...attributes } : {}]),
      wantsAttributes: () => readsAttributes,
      text: (text) => calls.push(['text', text]),
      otherNode: (text) => calls.push(['other', text]),
      close: () => calls.push(['close']),
    },
  };
}

/** saxes as arf-parser.ts wires it; null when saxes refuses the document. Calls outside the root are dropped (the collector ignores them). */
function saxesCalls(xml: string): Call[] | null {
  const { events, calls } = recorder();
  const parser = new SaxesParser<{ xmlns: false }>({ xmlns: false });
  let depth = 0;
  parser.on('opentag', (tag) => {
    depth += 1;
    events.open(tag.name, tag.attributes);
  });
  parser.on('closetag', () => {
    depth -= 1;
    events.close();
  });
  parser.on('text', (text) => depth > 0 && events.text(text));
  parser.on('cdata', (text) => depth > 0 && events.text(text));
  parser.on('comment', (text) => depth > 0 && events.otherNode(text));
  parser.on('processinginstruction', (pi) => depth > 0 && events.otherNode(pi.body));
  try {
    parser.write(xml);
    parser.close();
    return calls;
  } catch {
    return null;
  }
}

/** saxes's calls as a collector that reads no attributes sees them. */
const withoutAttributes = (calls: Call[] | null): Call[] | null => calls?.map((call) => (call[0] === 'open' ? ['open', call[1], {}] : call)) ?? null;

/** The scanner's calls, or 'gave up'. */
function scannerCalls(xml: string, chunk = 65_536, readsAttributes = true): Call[] | 'gave up' {
  const { events, calls } = recorder(readsAttributes);
  const scanner = new FastXmlScanner(events);
  try {
    for (let at = 0; at < xml.length; at += chunk) scanner.write(xml.slice(at, at + chunk));
    scanner.close();
    return calls;
  } catch (error) {
    if (error instanceof NotPlainXml) return 'gave up';
    throw error;
  }
}

const fixtures = fileURLToPath(new URL('../fixtures/arf/', import.meta.url));
for (const file of readdirSync(fixtures).filter((name) => name.endsWith('.xml.bz2'))) {
  t.test(`${file}: the scanner takes it, with saxes's calls, in any chunking`, async (t) => {
    const xml = execFileSync('bzip2', ['-dc', `${fixtures}${file}`], { maxBuffer: 1 << 30 }).toString('utf8');
    const expected = saxesCalls(xml);
    t.ok(expected !== null, 'saxes takes it');
    t.same(scannerCalls(xml), expected, '64 KiB chunks');
    t.same(scannerCalls(xml, 997), expected, 'odd chunks');
    t.same(scannerCalls(xml, 997, false), withoutAttributes(expected), 'odd chunks, attributes not read');
  });
}

const edges: Record<string, string> = {
  declaration: '<?xml version="1.0" encoding="UTF-8"?>\n<a x="1">t</a>\n',
  'single-quoted declaration': "<?xml version='1.0'?><a/>",
  'XML 1.1': '<?xml version="1.1"?><a/>',
  'declaration with an odd encoding': '<?xml version="1.0" encoding="ISO-8859-1"?><a/>',
  'byte order mark': '\uFEFF<a/>',
  'white space before the declaration': ' <?xml version="1.0"?><a/>',
  doctype: '<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>',
  'processing instruction': '<a><?pi body?></a>',
  'undefined entity': '<a>&nbsp;</a>',
  entities: '<a b="&lt;&#65;&#x42;&quot;&apos;&amp;&gt;">&lt;x&gt; &#233;&#x1D11E; &amp;amp;</a>',
  'character reference to a forbidden character': '<a>&#1;</a>',
  'CR as a reference': '<a b="&#13;">x&#13;y</a>',
  'literal CR': '<a>x\r\ny</a>',
  'attribute white space': '<a b="x\ty\nz"  c = \'1\'\n/>',
  'attributes without space between': '<a b="1"c="2"/>',
  'duplicate attribute': '<a b="1" b="2"/>',
  'duplicate attribute after others, = in a value': '<a b="1" c="x=y" d=\'=\' b="2"/>',
  'duplicate attribute, other quotes': `<a><b c='1' c="2">x</b></a>`,
  'names sharing a prefix': '<a ab="1" a="2" abc="3" b:a="4"><c x="=" y = "=="/></a>',
  'many attributes over lines': '<a\n  b="1"\n  c=\'2\'\n  d="3"\n/>',
  '< in an attribute': '<a b="<"/>',
  'unquoted attribute': '<a b=1/>',
  ']]> in text': '<a>x]]>y</a>',
  ']] > in text': '<a>x]] >y]]&gt;</a>',
  'CDATA and comments split text': '<a>1<![CDATA[<2>]]>3<!-- 4 -->5<![CDATA[]]>6</a>',
  'comment with --': '<a><!-- x -- y --></a>',
  'comment ending in -': '<a><!-- x ---></a>',
  'empty comment': '<a><!----></a>',
  'comments outside the root': '<!-- c --><a/><!-- d -->\n',
  'text outside the root': 'x<a/>',
  'text after the root': '<a/>x',
  'two roots': '<a/><b/>',
  'no root': '  ',
  'unclosed element': '<a><b></a>',
  'mismatched end tag': '<a></b>',
  'end tag with space': '<a></a >',
  'namespaced names': '<x:a xmlns:x="u" x:b="1"><x:c/></x:a>',
  'non-ASCII name': '<é/>',
  'non-ASCII text': '<a>é € 𝄞 \u{10FFFF}</a>',
  'lone surrogate': '<a>\uD800</a>',
  'U+FFFE': '<a>\uFFFE</a>',
  'control character': '<a>\u0001</a>',
  'name starting with a digit': '<1a/>',
  'self-closing with space before /': '<a />',
  'slash then space': '<a/ >',
};

for (const [name, xml] of Object.entries(edges)) {
  t.test(`edge: ${name}`, async (t) => {
    const expected = saxesCalls(xml);
    for (const chunk of [65_536, 1, 3]) {
      for (const readsAttributes of [true, false]) {
        const got = scannerCalls(xml, chunk, readsAttributes);
        const how = `chunks of ${chunk}${readsAttributes ? '' : ', attributes not read'}`;
        if (got === 'gave up') t.pass(`${how}: gave up (saxes ${expected === null ? 'refuses it' : 'takes it'})`);
        else t.same(got, readsAttributes ? expected : withoutAttributes(expected), `${how}: saxes's calls`);
      }
    }
  });
}

t.test('the plain parts of the subset are taken, not left to saxes', async (t) => {
  for (const name of ['declaration', 'entities', 'CR as a reference', 'attribute white space', 'CDATA and comments split text', 'namespaced names', 'non-ASCII text', 'empty comment', 'self-closing with space before /', 'end tag with space']) {
    t.not(scannerCalls(edges[name] as string), 'gave up', name);
  }
  for (const name of ['names sharing a prefix', 'many attributes over lines', 'namespaced names', 'declaration']) {
    t.not(scannerCalls(edges[name] as string, 65_536, false), 'gave up', `${name}, attributes not read`);
  }
});
