import { readFileSync, readdirSync } from 'node:fs';
import t from 'tap';
import { MAX_NESTING, MAX_YAML_FLOW_ITEMS, assertNesting, assertYamlFlowBounds } from '../../hub/ingress/input-shape.ts';

const reports = new URL('../fixtures/reports/', import.meta.url);

function nested(depth: number): unknown {
  let value: unknown = 'leaf';
  for (let i = 0; i < depth; i += 1) value = { next: value };
  return value;
}

t.test('nesting: within the bound passes, beyond it is a 400 naming the field', async (t) => {
  t.doesNotThrow(() => assertNesting(nested(MAX_NESTING - 1)));
  t.throws(() => assertNesting(nested(MAX_NESTING + 1), 'facts'), { code: 'PROXYHUB_INPUT_INVALID', field: 'facts' });
  t.throws(() => assertNesting(JSON.parse(`${'['.repeat(5000)}${']'.repeat(5000)}`)), { code: 'PROXYHUB_INPUT_INVALID' }, 'arrays count too, without a stack overflow');
});

t.test('YAML: every real Puppet report passes the pre-scan', async (t) => {
  const files = readdirSync(reports).filter((f) => f.endsWith('.yaml'));
  t.ok(files.length > 0);
  for (const file of files) t.doesNotThrow(() => assertYamlFlowBounds(readFileSync(new URL(file, reports), 'utf8')), file);
});

t.test('YAML: flow bombs are refused before parsing, quickly', async (t) => {
  const started = performance.now();
  t.throws(() => assertYamlFlowBounds('['.repeat(8 * 1024 * 1024)), { code: 'PROXYHUB_INPUT_INVALID' }, '8 MiB of [');
  t.throws(() => assertYamlFlowBounds(`host: a\nlist: [${'a,'.repeat(MAX_YAML_FLOW_ITEMS + 1)}a]\n`), { code: 'PROXYHUB_INPUT_INVALID' }, 'a huge flow sequence');
  t.ok(performance.now() - started < 2000, 'linear time');
});

t.test('YAML: brackets inside scalars and comments are not flow collections', async (t) => {
  const text = [
    'host: web.example.com',
    'source: "/Stage[main]/Main/File[/tmp/x]/content"',
    "message: 'change from {md5}abc to [x]'",
    'plain: change [a] to [b]',
    `# ${'['.repeat(1000)}`,
    'empty: []',
    'map: {}',
    '',
  ].join('\n');
  t.doesNotThrow(() => assertYamlFlowBounds(text));
});
