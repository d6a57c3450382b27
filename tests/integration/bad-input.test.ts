/**
 * Bad input gets a clear 4xx problem+json naming the part and field, and nothing is published:
 * the work queues (no worker is running) stay empty until a good upload proves they count.
 */
import t from 'tap';
import { createTopology } from '../../contracts/topology.ts';
import { queueDepth, testConfig } from '../helpers/hub-harness.ts';
import { startHubFor, usePrefix } from '../helpers/test-hub.ts';
import { waitFor } from '../helpers/wait-for.ts';

const prefix = usePrefix(t);
// `limits` replaces testConfig's whole block: load shedding stays off, as in every test not about it
// (on a busy machine it answered these requests 503 before their input was read).
const config = testConfig(prefix, 'http://127.0.0.1:9', { limits: { ratePerMinute: 0, maxEventLoopDelayMs: 0, maxEventLoopUtilization: 0, factsBodyBytes: 64 * 1024, reportBodyBytes: 64 * 1024 } });
const hub = await startHubFor(t, config, 'ingress');
const topology = createTopology(prefix);

interface Case {
  readonly name: string;
  readonly path: string;
  readonly contentType?: string;
  readonly body: string;
  readonly status: number;
  readonly code: string;
  readonly location?: string;
  readonly field?: string;
  readonly method?: string;
  readonly headers?: Record<string, string>;
}

const facts = '/api/v2/hosts/facts';
const cases: Case[] = [
  { name: 'malformed JSON', path: facts, contentType: 'application/json', body: '{"name": "a", "facts": {', status: 400, code: 'PROXYHUB_INPUT_MALFORMED', location: 'body' },
  { name: 'empty JSON body', path: facts, contentType: 'application/json', body: '', status: 400, code: 'PROXYHUB_INPUT_MALFORMED', location: 'body' },
  { name: 'missing name', path: facts, contentType: 'application/json', body: '{"facts": {"a": 1}}', status: 400, code: 'PROXYHUB_INPUT_INVALID', location: 'body', field: 'name' },
  { name: 'blank name', path: '/api/hosts/facts', contentType: 'application/json', body: '{"name": "  ", "facts": {}}', status: 400, code: 'PROXYHUB_INPUT_INVALID', location: 'body', field: 'name' },
  { name: 'facts of the wrong type', path: facts, contentType: 'application/json', body: '{"name": "a.example.com", "facts": "many"}', status: 400, code: 'PROXYHUB_INPUT_INVALID', location: 'body', field: 'facts' },
  { name: 'name of the wrong type', path: facts, contentType: 'application/json', body: '{"name": 42, "facts": {}}', status: 400, code: 'PROXYHUB_INPUT_INVALID', location: 'body', field: 'name' },
  { name: 'array instead of object', path: facts, contentType: 'application/json', body: '[]', status: 400, code: 'PROXYHUB_INPUT_INVALID', location: 'body' },
  { name: 'huge body', path: facts, contentType: 'application/json', body: JSON.stringify({ name: 'a', facts: { blob: 'x'.repeat(128 * 1024) } }), status: 413, code: 'PROXYHUB_INPUT_TOO_LARGE', location: 'body' },
  { name: 'wrong content type for facts', path: facts, contentType: 'text/plain', body: 'name=a', status: 415, code: 'PROXYHUB_INPUT_MEDIA_TYPE', location: 'headers', field: 'content-type' },
  { name: 'unknown report format', path: '/reports/chef', contentType: 'application/json', body: '{"host": "a"}', status: 400, code: 'PROXYHUB_INPUT_INVALID', location: 'params', field: 'format' },
  { name: 'puppet report sent as JSON', path: '/reports/puppet', contentType: 'application/json', body: '{"host": "a"}', status: 415, code: 'PROXYHUB_INPUT_MEDIA_TYPE', location: 'headers', field: 'content-type' },
  { name: 'ansible report sent as YAML', path: '/reports/ansible', contentType: 'application/x-yaml', body: 'host: a\n', status: 415, code: 'PROXYHUB_INPUT_MEDIA_TYPE', location: 'headers', field: 'content-type' },
  { name: 'puppet report that is not YAML', path: '/reports/puppet', contentType: 'application/x-yaml', body: 'host: [unclosed\n  - : :', status: 400, code: 'PROXYHUB_INPUT_MALFORMED', location: 'body' },
  { name: 'ansible report without host', path: '/reports/ansible', contentType: 'application/json', body: '{"results": []}', status: 400, code: 'PROXYHUB_INPUT_INVALID', location: 'body', field: 'host' },
  { name: 'puppet report without host', path: '/reports/puppet', contentType: 'application/x-yaml', body: '--- !ruby/object:Puppet::Transaction::Report\nstatus: failed\n', status: 400, code: 'PROXYHUB_INPUT_INVALID', location: 'body', field: 'host' },
  { name: 'bad json_body flag', path: '/reports/ansible?json_body=maybe', contentType: 'application/json', body: '{"host": "a"}', status: 400, code: 'PROXYHUB_INPUT_INVALID', location: 'querystring', field: 'json_body' },
  { name: 'facts nested 5000 deep', path: facts, contentType: 'application/json', body: `{"name":"deep.example.com","facts":{"a":${'['.repeat(5000)}${']'.repeat(5000)}}}`, status: 400, code: 'PROXYHUB_INPUT_INVALID', location: 'body', field: 'facts' },
  { name: 'a YAML flow bomb', path: '/reports/puppet', contentType: 'application/x-yaml', body: `host: a\nx: ${'['.repeat(60_000)}`, status: 400, code: 'PROXYHUB_INPUT_INVALID', location: 'body' },
  { name: 'a gzip-labelled body', path: facts, contentType: 'application/json', body: '{"name": "gz.example.com", "facts": {}}', headers: { 'content-encoding': 'gzip' }, status: 415, code: 'PROXYHUB_INPUT_MEDIA_TYPE', location: 'headers', field: 'content-encoding' },
  { name: 'unknown route', path: '/api/v2/hosts', contentType: 'application/json', body: '{}', status: 404, code: 'PROXYHUB_ROUTE_NOT_FOUND' },
];

for (const testCase of cases) {
  t.test(testCase.name, async (t) => {
    const response = await fetch(`${hub.ingressUrl}${testCase.path}`, {
      method: testCase.method ?? 'POST',
      headers: { ...(testCase.contentType ? { 'content-type': testCase.contentType } : {}), ...testCase.headers },
      body: testCase.body,
    });
    t.equal(response.status, testCase.status, 'status');
    t.match(response.headers.get('content-type'), /^application\/problem\+json/, 'problem+json');
    const problem = (await response.json()) as { code: string; status: number; title: string; detail: string; errors?: Array<{ location: string; field: string }> };
    t.equal(problem.code, testCase.code, 'catalog code');
    t.equal(problem.status, testCase.status, 'status repeated in the body');
    t.ok(problem.title.length > 0 && problem.detail.length > 0, 'title and detail say what went wrong');
    t.notMatch(JSON.stringify(problem), /at .+\.(ts|js):\d+/, 'no stack trace');
    if (testCase.location) t.equal(problem.errors?.[0]?.location, testCase.location, 'names the request part');
    if (testCase.field) t.ok(problem.errors?.some((e) => e.field === testCase.field), `names the field ${testCase.field}`);
  });
}

t.test('nothing was published by any bad request; a good one is', async (t) => {
  t.equal(await queueDepth(topology.workQueue('facts')), 0, 'facts queue empty');
  t.equal(await queueDepth(topology.workQueue('reports')), 0, 'reports queue empty');
  const good = await fetch(`${hub.ingressUrl}/api/v2/hosts/facts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name": "good.example.com", "facts": {}}' });
  t.equal(good.status, 202);
  await waitFor(async () => (await queueDepth(topology.workQueue('facts'))) === 1, { what: 'the good upload in the queue' });
  t.equal(await queueDepth(topology.workQueue('reports')), 0, 'and only there');
});

t.test('the process is still healthy after all of it', async (t) => {
  const health = await fetch(`${hub.ingressUrl}/healthz`);
  t.equal(health.status, 200);
});
