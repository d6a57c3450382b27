/**
 * Large YAML reports at the ingress are parsed in parse threads: accepted as inline ones are, a
 * malformed one answered 400 with its catalog code and field, and when every thread is busy and
 * the queue is full, 503 with Retry-After at once.
 */
import t from 'tap';
import { deleteTopology, startTestHub, testConfig, testPrefix } from '../helpers/hub-harness.ts';

const prefix = testPrefix();
// One thread and no queue: a second large report while one parses is refused.
const config = testConfig(prefix, 'http://127.0.0.1:9', { parse: { threads: 1, queueLimit: 0, yamlThresholdBytes: 16 * 1024 } });
const hub = await startTestHub(config, 'ingress');
t.teardown(async () => {
  await hub.close();
  await deleteTopology(prefix);
});

function puppetReport(host: string, bytes: number): string {
  const line = '  - level: notice\n    message: "Applied catalog in 1.23 seconds"\n    source: Puppet\n';
  return `--- !ruby/object:Puppet::Transaction::Report\nhost: ${host}\ntime: '2024-01-01T00:00:00Z'\nlogs:\n${line.repeat(Math.ceil(bytes / line.length))}`;
}

async function post(body: string): Promise<{ status: number; retryAfter: string | null; json: { code?: string; errors?: Array<{ field: string }> } }> {
  const response = await fetch(`${hub.ingressUrl}/reports/puppet`, { method: 'POST', headers: { 'content-type': 'application/x-yaml' }, body });
  return { status: response.status, retryAfter: response.headers.get('retry-after'), json: (await response.json()) as { code?: string } };
}

t.test('a large report is accepted; a large malformed one keeps its code and field', async (t) => {
  t.equal((await post(puppetReport('big.example.com', 64 * 1024))).status, 202);
  const malformed = await post(`${puppetReport('bad.example.com', 64 * 1024)}  - [unclosed\n`);
  t.equal(malformed.status, 400);
  t.equal(malformed.json.code, 'PROXYHUB_INPUT_MALFORMED');
  t.same(malformed.json.errors?.map((e) => e.field), ['body']);
});

t.test('past the parse queue: 503 PROXYHUB_PARSE_QUEUE_FULL with Retry-After', async (t) => {
  // Each takes the one thread for a while (a few MB of YAML); sent together, the later ones find it busy.
  const answers = await Promise.all(Array.from({ length: 4 }, (_, i) => post(puppetReport(`burst-${i}.example.com`, 3 * 1024 * 1024))));
  const refused = answers.filter((answer) => answer.status === 503);
  t.ok(answers.some((answer) => answer.status === 202), 'one parses');
  t.ok(refused.length > 0, `the others are refused (${answers.map((a) => a.status).join(', ')})`);
  for (const answer of refused) {
    t.equal(answer.json.code, 'PROXYHUB_PARSE_QUEUE_FULL');
    t.equal(answer.retryAfter, '2');
  }
});
