/**
 * Each listener serves its own OpenAPI document at /openapi.json, open on the control listener
 * (like /version) while trusted_hosts refuses everyone: it names routes and shapes, never host
 * data. The ingress serves exactly the committed document; the control listener what it mounts
 * (the container gateway routes only with a gateway configured), all of it in the committed one.
 */
import { readFileSync } from 'node:fs';
import t from 'tap';
import { testConfig } from '../helpers/hub-harness.ts';
import { startHubFor, usePrefix } from '../helpers/test-hub.ts';

const committed = (listener: string) => JSON.parse(readFileSync(new URL(`../../docs/${listener}.openapi.json`, import.meta.url), 'utf8')) as { paths: Record<string, unknown> };

const prefix = usePrefix(t);
const config = testConfig(prefix, 'http://127.0.0.1:9', { devOpenControl: false });
const hub = await startHubFor(t, config, 'ingress,control');

t.test('the ingress serves the committed document', async (t) => {
  const response = await fetch(`${hub.ingressUrl}/openapi.json`);
  t.equal(response.status, 200);
  t.match(response.headers.get('content-type'), /^application\/json/);
  t.strictSame(await response.json(), committed('ingress'));
});

t.test('the control listener serves its document openly while protected routes refuse', async (t) => {
  t.equal((await fetch(`${hub.controlUrl}/v2/features`)).status, 403, 'a protected route refuses (trusted_hosts unset)');
  const response = await fetch(`${hub.controlUrl}/openapi.json`);
  t.equal(response.status, 200);
  const served = (await response.json()) as { openapi: string; paths: Record<string, unknown> };
  t.equal(served.openapi, '3.1.0');
  const documented = committed('control').paths;
  for (const path of ['/openapi.json', '/v2/features', '/dynflow/tasks/launch']) t.ok(served.paths[path], `serves ${path}`);
  for (const [path, operations] of Object.entries(served.paths)) t.strictSame(operations, documented[path], `${path} as committed`);
});
