/**
 * The first vertical slice end to end: the real fixtures uploaded through the ingress reach the
 * test Foreman with the same content, through the real RabbitMQ and Redis.
 * Runs once per transport, AMQP 0-9-1 and AMQP 1.0 (@every-transport; see scripts/test.mjs).
 */
import { isDeepStrictEqual } from 'node:util';
import t from 'tap';
import { factsFixtures, normaliseHostReport, reportFixtures } from '../helpers/fixtures.ts';
import { consumerCount } from '../helpers/hub-harness.ts';
import { startHubWithForeman } from '../helpers/hub-with-foreman.ts';
import { holdsFor, waitFor } from '../helpers/wait-for.ts';

const { foreman, hub, topology } = await startHubWithForeman(t, { overrides: () => ({ proxyName: 'localhost' }) });

async function post(path: string, contentType: string, body: string): Promise<{ status: number; json: { id?: string } }> {
  const response = await fetch(`${hub.ingressUrl}${path}`, { method: 'POST', headers: { 'content-type': contentType }, body });
  return { status: response.status, json: (await response.json()) as { id?: string } };
}

t.test('facts fixtures arrive at Foreman unchanged, on both facts routes', async (t) => {
  const fixtures = factsFixtures();
  t.ok(fixtures.length >= 5, 'all facts fixtures found');
  for (const [index, fixture] of fixtures.entries()) {
    const path = index % 2 === 0 ? '/api/v2/hosts/facts' : '/api/hosts/facts';
    const answer = await post(path, 'application/json', JSON.stringify(fixture.body));
    t.equal(answer.status, 202, `${fixture.name} accepted`);
    t.match(answer.json.id, /^[0-9a-f-]{36}$/, 'answer carries the event id');
  }
  const delivered = await waitFor(() => {
    const requests = foreman.delivered('/api/v2/hosts/facts');
    return requests.length >= fixtures.length && requests;
  });
  t.equal(delivered.length, fixtures.length, 'each upload delivered once');
  t.ok(await holdsFor(() => foreman.delivered('/api/v2/hosts/facts').length === fixtures.length, 1000), 'and no duplicate follows');
  for (const fixture of fixtures) {
    const request = delivered.find((r) => (r.body as { name: string }).name === fixture.body.name);
    t.same(request?.body, fixture.body, `${fixture.name}: same name, same facts`);
    t.equal(request?.headers.accept, 'application/json,version=2', 'Foreman API v2 requested');
  }
});

t.test('report fixtures arrive as host_reports matching smart_proxy_reports, Ansible facts too', async (t) => {
  const fixtures = reportFixtures();
  for (const fixture of fixtures) {
    const answer = await post(`/reports/${fixture.format}`, fixture.contentType, fixture.payload);
    t.equal(answer.status, 202, `${fixture.name} accepted`);
  }
  const reports = await waitFor(() => {
    const requests = foreman.delivered('/api/v2/host_reports');
    return requests.length >= fixtures.length && requests;
  });
  t.equal(reports.length, fixtures.length, 'each report delivered once');
  t.ok(await holdsFor(() => foreman.delivered('/api/v2/host_reports').length === fixtures.length, 1000), 'and no duplicate follows');
  for (const fixture of fixtures) {
    const host = (fixture.expectedReport as { host_report: { host: string; format: string } }).host_report;
    const matching = reports.filter((r) => {
      const sent = (r.body as { host_report: { host: string; body: { format?: string } } }).host_report;
      return sent.host === host.host && isDeepStrictEqual(normaliseHostReport(r.body), normaliseHostReport(fixture.expectedReport));
    });
    t.equal(matching.length, 1, `${fixture.name}: Foreman got the host_report smart_proxy_reports would send`);
  }
  const withFacts = fixtures.filter((f) => f.expectedFacts !== null);
  t.ok(withFacts.length > 0, 'a fixture carries Ansible facts');
  for (const fixture of withFacts) {
    const expected = fixture.expectedFacts as { name: string };
    const facts = await waitFor(() => foreman.delivered('/api/v2/hosts/facts').find((r) => (r.body as { name: string }).name === expected.name));
    t.same(facts.body, expected, `${fixture.name}: the facts in the report became a facts upload`);
  }
});

t.test('workers consume from their own quorum queues', async (t) => {
  t.equal(await consumerCount(topology.workQueue('facts')), 1);
  t.equal(await consumerCount(topology.workQueue('reports')), 1);
});
