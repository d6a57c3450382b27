/**
 * Client routes and control routes never share a listener: every control route answers 404 on
 * the ingress port and every client route answers 404 on the control port, even in role `all`.
 */
import t from 'tap';
import { routeTables } from '../../cli/plan.ts';
import { testConfig } from '../helpers/hub-harness.ts';
import { startHubFor, usePrefix } from '../helpers/test-hub.ts';

const prefix = usePrefix(t);
const config = testConfig(prefix, 'http://127.0.0.1:9');
const hub = await startHubFor(t, config, 'all');
const tables = await routeTables(config);

const concrete = (url: string) => url.replace(':format', 'puppet').replace(':id', 'some-id').replace(':kind', 'provision').replace(':template', 'default').replace(':hostgroup', 'base');
// /unattended/templateServer is asked by hosts (ingress) and by Foreman (control), as on the smart-proxy;
// health and metrics are each listener's own, and each listener describes itself at /openapi.json.
const shared = new Set(['/healthz', '/livez', '/readyz', '/metrics', '/unattended/templateServer', '/openapi.json']);

t.test('both listeners are up on separate ports', async (t) => {
  t.not(new URL(hub.ingressUrl as string).port, new URL(hub.controlUrl as string).port);
  t.ok(tables.ingress.length >= 3 && tables.control.length >= 3, 'route tables are known');
});

t.test('every control route answers 404 on the ingress listener', async (t) => {
  for (const route of tables.control.filter((r) => !shared.has(r.url))) {
    const response = await fetch(`${hub.ingressUrl}${concrete(route.url)}`, { method: route.method, ...(route.method === 'POST' ? { headers: { 'content-type': 'application/json' }, body: '{"all":true}' } : {}) });
    t.equal(response.status, 404, `${route.method} ${route.url}`);
  }
});

t.test('every client route answers 404 on the control listener', async (t) => {
  for (const route of tables.ingress.filter((r) => !shared.has(r.url))) {
    const withBody = route.method === 'POST' ? { headers: { 'content-type': 'application/json' }, body: '{"name":"a","facts":{}}' } : {};
    const response = await fetch(`${hub.controlUrl}${concrete(route.url)}`, { method: route.method, ...withBody });
    t.equal(response.status, 404, `${route.method} ${route.url}`);
  }
});
