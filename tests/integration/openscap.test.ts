/**
 * OpenSCAP end to end over TLS: foreman_scap_client's upload reaches Foreman as the report JSON
 * (metrics and score checked against an independent count of the ARF's rule results), the
 * bzip2 file is stored for Foreman's download and delete calls, bad uploads get a 4xx with
 * nothing published, broken reports and Foreman's 422 are dead-lettered with the reason, and
 * policy files are fetched once and then served from the cache.
 * Runs once per transport, AMQP 0-9-1 and AMQP 1.0 (@every-transport; see scripts/test.mjs).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { createTopology } from '../../contracts/topology.ts';
import { arfFixtures, bunzip2, bzip2, countRuleResults } from '../helpers/arf.ts';
import { queueDepth, testConfig } from '../helpers/hub-harness.ts';
import { startForemanFor } from '../helpers/hub-with-foreman.ts';
import { startHubFor, usePrefix } from '../helpers/test-hub.ts';
import { createTestPki } from '../helpers/pki.ts';
import { tlsClient } from '../helpers/tls-client.ts';
import { holdsFor, waitFor } from '../helpers/wait-for.ts';

const HOST = 'scap-host.example.com';
const ARF_LIMIT = 256 * 1024;
const pki = createTestPki();
// Certificates first: openssl runs synchronously and would stall the in-process hub.
const host = tlsClient(pki, pki.client(HOST));
const foremanClient = tlsClient(pki, pki.client('foreman.example.com'));
const anonymous = tlsClient(pki);
t.teardown(() => pki.remove());
const foreman = await startForemanFor(t);
const dataDir = mkdtempSync(join(tmpdir(), 'proxyhub-openscap-'));
t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
const prefix = usePrefix(t);
const config = testConfig(prefix, foreman.url, {
  tls: { cert: pki.server.cert, key: pki.server.key, ca: pki.caCert },
  trustedHosts: ['foreman.example.com'],
  dataDir,
  openscap: { proxyUrl: 'https://proxyhub.example.com:8443' },
  limits: { ratePerMinute: 0, maxEventLoopDelayMs: 0, maxEventLoopUtilization: 0, arfBodyBytes: ARF_LIMIT },
});
const hub = await startHubFor(t, config, 'all');
const topology = createTopology(prefix);
t.teardown(() => Promise.all([host.close(), foremanClient.close(), anonymous.close()]));

const SCAP_HEADERS = { 'content-type': 'text/xml', 'content-encoding': 'x-bzip2' };
const upload = (policy: string | number, body: Buffer | Readable, headers: Record<string, string> = SCAP_HEADERS, client = host) =>
  client.raw('POST', `${hub.ingressUrl}/compliance/arf/${policy}`, { headers, body });
const arfPosts = () => foreman.requests.filter((r) => r.path.startsWith('/api/v2/compliance/arf_reports/'));
const json = (body: Buffer): Record<string, unknown> => JSON.parse(body.toString('utf8')) as Record<string, unknown>;
const deadLetters = async (): Promise<Array<{ id: string; code: string; reason: string }>> =>
  json((await foremanClient.raw('GET', `${hub.controlUrl}/dead-letters?feature=openscap`)).body).deadLetters as Array<{ id: string; code: string; reason: string }>;
const spoolErrors = async (): Promise<number> => json((await foremanClient.raw('GET', `${hub.controlUrl}/compliance/spool_errors`)).body).errors_count as number;

/** The ARF post Foreman answered for this policy, once it arrives. */
const postFor = (policyId: number) =>
  waitFor(() => foreman.requests.find((r) => r.path.startsWith(`/api/v2/compliance/arf_reports/${HOST}/${policyId}/`) && r.status === 200), { what: `Foreman receives the report of policy ${policyId}` });
const foremanIdOf = (request: { answer: unknown }): string => (request.answer as { id: string }).id;

for (const [index, fixture] of arfFixtures().entries()) {
  t.test(`${fixture.name}: reaches Foreman with the right counts, digest and identity`, async (t) => {
    const policyId = 10 + index;
    const before = Math.floor(Date.now() / 1000);
    const answer = await upload(policyId, fixture.bzip2);
    t.equal(answer.status, 202);
    t.match(json(answer.body).id, /^[0-9a-f-]{36}$/, 'the reply carries an id, which foreman_scap_client prints');
    const posted = await postFor(policyId);
    const date = Number(posted.path.split('/').at(-1));
    t.ok(date >= before && date <= Math.ceil(Date.now() / 1000), 'the date is when the ingress received it');
    const report = posted.body as { metrics: unknown; score: number; digest: string; logs: unknown[]; openscap_proxy_name: string; openscap_proxy_url: string };
    const expected = countRuleResults(bunzip2(fixture.bzip2).toString('utf8'));
    t.same(report.metrics, { passed: expected.passed, failed: expected.failed, othered: expected.othered }, 'metrics equal the rule results counted in the XML');
    t.equal(report.score, expected.score, 'score is the XCCDF score');
    t.equal(report.logs.length, expected.passed + expected.failed + expected.othered, 'one log per counted rule result');
    t.equal(report.digest, fixture.sha256, 'digest is the sha256 of the uploaded bytes');
    t.equal(report.openscap_proxy_name, config.proxyName);
    t.equal(report.openscap_proxy_url, 'https://proxyhub.example.com:8443');
    t.match(posted.headers.accept, /version=2/);
    t.equal(posted.headers['content-type'], 'application/json');
  });
}

t.test('a chunked upload (no Content-Length) and one without Content-Type are taken too', async (t) => {
  const fixture = arfFixtures().find((f) => f.name.includes('rhel7'));
  if (!fixture) throw new Error('no ARF fixture');
  const chunks = Array.from({ length: Math.ceil(fixture.bzip2.length / 10_000) }, (_, i) => fixture.bzip2.subarray(i * 10_000, (i + 1) * 10_000));
  const chunked = await upload(80, Readable.from(chunks), SCAP_HEADERS);
  t.equal(chunked.status, 202, 'chunked transfer encoding');
  const unlabelled = await upload(81, fixture.bzip2, {});
  t.equal(unlabelled.status, 202, 'no Content-Type, no Content-Encoding');
  for (const policyId of [80, 81]) t.equal(((await postFor(policyId)).body as { digest: string }).digest, fixture.sha256, `policy ${policyId}: the bytes arrived intact`);
});

t.test('Foreman downloads the stored bzip2 file, renders it, and deletes it', async (t) => {
  const fixture = arfFixtures().find((f) => f.name.includes('rule-and-cpe')) ?? arfFixtures()[0];
  if (!fixture) throw new Error('no ARF fixtures');
  const policyId = 40;
  t.equal((await upload(policyId, fixture.bzip2)).status, 202);
  const posted = await postFor(policyId);
  const date = posted.path.split('/').at(-1) as string;
  const reportUrl = `${hub.controlUrl}/compliance/arf/${foremanIdOf(posted)}/${HOST}/${date}/${fixture.sha256}`;
  const xml = await waitFor(async () => {
    const answer = await foremanClient.raw('GET', `${reportUrl}/xml`);
    return answer.status === 200 ? answer : undefined;
  }, { what: 'the stored report' });
  t.equal(xml.headers['content-type'], 'application/x-bzip2');
  t.ok(xml.body.equals(fixture.bzip2), 'the download is the uploaded bytes');

  const html = await foremanClient.raw('GET', `${reportUrl}/html`);
  const oscapInstalled = spawnSync('sh', ['-c', 'command -v oscap'], { stdio: 'ignore' }).status === 0;
  if (oscapInstalled) {
    t.equal(html.status, 200, 'rendered by oscap');
    t.match(html.headers['content-type'], /^text\/html/);
    t.match(html.body.toString('utf8'), /<html/i);
  } else {
    t.equal(html.status, 501, 'without oscap: a clear 501');
    t.equal(json(html.body).code, 'PROXYHUB_OSCAP_UNAVAILABLE');
  }

  const byHost = await host.raw('GET', `${reportUrl}/xml`);
  t.equal(byHost.status, 403, 'a host certificate outside trusted_hosts cannot download reports');
  const wrongDigest = await foremanClient.raw('GET', `${reportUrl.slice(0, -64)}${'0'.repeat(64)}/xml`);
  t.equal(wrongDigest.status, 404);
  t.equal(json(wrongDigest.body).code, 'PROXYHUB_ARF_NOT_FOUND');

  const deleted = await foremanClient.raw('DELETE', reportUrl);
  t.equal(deleted.status, 200);
  t.same(json(deleted.body), { deleted: true });
  t.equal((await foremanClient.raw('GET', `${reportUrl}/xml`)).status, 404, 'gone after DELETE');
  t.same(json((await foremanClient.raw('DELETE', reportUrl)).body), { deleted: false }, 'deleting again succeeds, as in the smart-proxy');
});


t.test('bad uploads get a 4xx naming the field, and nothing reaches Foreman', async (t) => {
  const small = arfFixtures()[0]?.bzip2 ?? Buffer.alloc(0);
  const posts = arfPosts().length;
  const cases: Array<[string, ReturnType<typeof upload>, number, string]> = [
    ['policy_id not a number', upload('abc', small), 400, 'policy_id'],
    ['policy_id zero', upload(0, small), 400, 'policy_id'],
    ['policy_id negative', upload('-3', small), 400, 'policy_id'],
    ['plain XML, not bzip2', upload(50, Buffer.from('<?xml version="1.0"?><arf/>')), 400, 'body'],
    ['gzip labelled as bzip2', upload(50, Buffer.from('1f8b0800000000000003', 'hex')), 400, 'body'],
    ['an empty body', upload(50, Buffer.alloc(0)), 400, 'body'],
    ['an empty bzip2 stream', upload(50, bzip2('')), 400, 'body'],
    ['over the limit', upload(50, Buffer.concat([bzip2('x'.repeat(10)).subarray(0, 10), Buffer.alloc(ARF_LIMIT)])), 413, 'body'],
    ['another Content-Encoding', upload(50, small, { 'content-type': 'text/xml', 'content-encoding': 'gzip' }), 415, 'content-encoding'],
  ];
  for (const [what, pending, status, field] of cases) {
    const answer = await pending;
    t.equal(answer.status, status, `${what} → ${status}`);
    t.match(answer.headers['content-type'], /^application\/problem\+json/, what);
    const problem = json(answer.body) as { errors?: Array<{ field: string }> };
    t.equal(problem.errors?.[0]?.field, field, `${what} names ${field}`);
  }
  const noCertificate = await upload(50, small, SCAP_HEADERS, anonymous);
  t.equal(noCertificate.status, 403, 'no certificate: no host identity');
  t.equal(json(noCertificate.body).code, 'PROXYHUB_AUTH_CERT_REQUIRED');
  // Every refused upload was refused before publishing: an accepted one would reach Foreman.
  t.ok(await holdsFor(() => arfPosts().length === posts, 500), 'Foreman saw none of them');
  t.equal(await queueDepth(topology.workQueue('openscap')), 0, 'nothing waits in the queue');
});

t.test('a truncated bzip2 stream and an entity-expansion bomb are dead-lettered as unparseable', async (t) => {
  const large = arfFixtures().find((f) => f.name.includes('rhel7'))?.bzip2 ?? Buffer.alloc(0);
  const bomb = bzip2(`<?xml version="1.0"?>\n<!DOCTYPE lolz [\n<!ENTITY lol "lol">\n${Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i || ''};`.repeat(10)}">`).join('\n')}\n]>\n<lolz>&lol9;</lolz>\n`);
  const before = await spoolErrors();
  const truncated = json((await upload(60, large.subarray(0, Math.floor(large.length / 2)))).body).id;
  const bombed = json((await upload(61, bomb)).body).id;
  const letters = await waitFor(async () => {
    const all = await deadLetters();
    const mine = all.filter((l) => l.id === truncated || l.id === bombed);
    return mine.length === 2 ? mine : undefined;
  }, { what: 'both dead letters' });
  for (const letter of letters) t.equal(letter.code, 'PROXYHUB_ARF_UNPARSEABLE', `${letter.id === truncated ? 'truncated' : 'bomb'}: ${letter.reason}`);
  t.equal(await spoolErrors(), before + 2, 'spool_errors counts them');
  t.notOk(arfPosts().some((r) => /\/(60|61)\/\d+$/.test(r.path)), 'Foreman never saw them');
});

t.test('an ARF that expands into a huge report is dead-lettered naming the limit, never built or sent', async (t) => {
  // One 1 MiB set-value, substituted 8 times into a fix that 16 rule results repeat: a few hundred
  // bytes of bzip2 that would build 128 MiB of JSON, over the 64 MiB default.
  const xml = [
    '<?xml version="1.0"?><arf><Benchmark><Rule id="r"><title>t</title>',
    `<fix system="urn:xccdf:fix:script:sh">${'<sub idref="v"/>'.repeat(8)}</fix></Rule></Benchmark>`,
    `<TestResult><set-value idref="v">${'A'.repeat(1024 * 1024)}</set-value>`,
    '<rule-result idref="r"><result>fail</result></rule-result>'.repeat(16),
    '</TestResult></arf>',
  ].join('');
  const bomb = bzip2(xml);
  t.ok(bomb.length < 10_000, `${bomb.length} bytes of bzip2`);
  const id = json((await upload(62, bomb)).body).id;
  const letter = await waitFor(async () => (await deadLetters()).find((l) => l.id === id), { what: 'the dead letter' });
  t.equal(letter.code, 'PROXYHUB_ARF_REPORT_TOO_LARGE');
  t.match(letter.reason, /64 MiB.*PROXYHUB_ARF_REPORT_LIMIT/, `the reason names the limit: ${letter.reason}`);
  t.notOk(arfPosts().some((r) => /\/62\/\d+$/.test(r.path)), 'Foreman never saw it');
});

t.test("Foreman's 422 dead-letters the report with Foreman's message; replay delivers it once Foreman takes it", async (t) => {
  const fixture = arfFixtures()[0];
  if (!fixture) throw new Error('no ARF fixtures');
  foreman.unknownPolicies.add(70);
  const id = json((await upload(70, fixture.bzip2)).body).id as string;
  const letter = await waitFor(async () => (await deadLetters()).find((l) => l.id === id), { what: 'the dead letter' });
  t.equal(letter.code, 'PROXYHUB_FOREMAN_REJECTED');
  t.match(letter.reason, /Policy with id 70 not found/, "Foreman's own message");
  t.equal(foreman.requests.filter((r) => /\/70\/\d+$/.test(r.path)).length, 1, 'a 422 is not retried');
  const shown = json((await foremanClient.raw('GET', `${hub.controlUrl}/dead-letters/${id}`)).body) as { event: { data: { arf: string; policyId: number } } };
  t.equal(shown.event.data.policyId, 70);
  t.match(shown.event.data.arf, new RegExp(`^<${fixture.bzip2.length} bytes of bzip2`), 'the bytes are summarised, not dumped');
  foreman.unknownPolicies.delete(70);
  const replay = await foremanClient.raw('POST', `${hub.controlUrl}/dead-letters/replay`, { headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify({ ids: [id], feature: 'openscap' })) });
  t.same(json(replay.body), { replayed: 1, kept: (json(replay.body).kept as number) });
  const delivered = await postFor(70);
  t.equal((delivered.body as { digest: string }).digest, fixture.sha256);
});

t.test('policy files: fetched from Foreman once, then served from the cache; Foreman’s 404 passed on', async (t) => {
  foreman.policyFiles.set('content/5', '<?xml version="1.0"?><ds:data-stream-collection/>');
  foreman.policyFiles.set('tailoring/5', '<?xml version="1.0"?><xccdf:Tailoring/>');
  const contentDigest = createHash('sha256').update(foreman.policyFiles.get('content/5') ?? '').digest('hex');
  const contentUrl = `${hub.ingressUrl}/compliance/policies/5/content/${contentDigest}`;
  const answers = await Promise.all(Array.from({ length: 20 }, () => host.raw('GET', contentUrl)));
  for (const answer of answers) t.equal(answer.status, 200);
  t.equal(answers[0]?.headers['content-type'], 'application/xml');
  t.equal(answers[0]?.body.toString('utf8'), foreman.policyFiles.get('content/5'));
  t.equal((await host.raw('GET', contentUrl)).status, 200);
  t.equal(foreman.attempts('/api/v2/compliance/policies/5/content'), 1, 'twenty-one fetches, one call to Foreman');
  const mixedCase = [...contentDigest].map((c, i) => (i % 3 ? c : c.toUpperCase())).join('');
  for (const variant of [contentDigest.toUpperCase(), mixedCase]) {
    const answer = await host.raw('GET', `${hub.ingressUrl}/compliance/policies/5/content/${variant}`);
    t.equal(answer.body.toString('utf8'), foreman.policyFiles.get('content/5'), 'the digest in another letter case names the same file');
  }
  t.equal(foreman.attempts('/api/v2/compliance/policies/5/content'), 1, '…and is served from the same cache entry, not fetched again');
  const otherDigest = '0123abcd'.repeat(8);
  for (let i = 0; i < 2; i += 1) t.equal((await host.raw('GET', `${hub.ingressUrl}/compliance/policies/5/content/${otherDigest}`)).status, 200, 'a digest that is not the file’s: served');
  t.equal(foreman.attempts('/api/v2/compliance/policies/5/content'), 3, '…but not cached under that name: each fetch asks Foreman');
  const tailoring = await host.raw('GET', `${hub.ingressUrl}/compliance/policies/5/tailoring/${'99ff'.repeat(16)}`);
  t.equal(tailoring.body.toString('utf8'), foreman.policyFiles.get('tailoring/5'));
  const unknown = await host.raw('GET', `${hub.ingressUrl}/compliance/policies/6/content/${otherDigest}`);
  t.equal(unknown.status, 404, "Foreman's 404 for an unknown policy");
  t.equal((await host.raw('GET', `${hub.ingressUrl}/compliance/policies/x/content/${otherDigest}`)).status, 400);
  t.equal((await host.raw('GET', `${hub.ingressUrl}/compliance/policies/5/content/0123abcd`)).status, 400, 'a digest is a sha256');
  t.equal((await host.raw('GET', `${hub.ingressUrl}/compliance/policies/5/content/a.b`)).status, 400, 'a digest is not a path');
  t.equal((await anonymous.raw('GET', contentUrl)).status, 403, 'a host certificate is needed');
});

t.test('Foreman down while 100 reports are uploaded: all 100 arrive once it is back', async (t) => {
  const fixture = arfFixtures().find((f) => f.name.includes('rule-and-cpe')) ?? arfFixtures()[0];
  if (!fixture) throw new Error('no ARF fixtures');
  foreman.down();
  const answers = await Promise.all(Array.from({ length: 100 }, (_, i) => upload(1000 + i, fixture.bzip2)));
  t.ok(answers.every((a) => a.status === 202), 'all 100 accepted while Foreman is down');
  await waitFor(() => foreman.resetConnections > 0, { what: 'a delivery attempt' });
  foreman.up();
  const arrived = await waitFor(() => {
    const policies = new Set(arfPosts().filter((r) => r.status === 200).map((r) => Number(r.path.split('/').at(-2))).filter((p) => p >= 1000 && p < 1100));
    return policies.size === 100 ? policies : undefined;
  }, { what: 'all 100 reports at Foreman', timeoutMs: 60_000 });
  t.equal(arrived.size, 100);
});
