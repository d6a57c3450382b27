/**
 * A plain-HTTP loopback ingress with no front proxy listed has no way to tell one host from
 * another. By default it refuses every route that acts for a host (uploads, ARF, policy files,
 * REX pull) with 403 naming the way out, so that a TLS-terminating proxy on the same machine that
 * someone forgot to list cannot let host A upload for host B; registration and templates, which
 * carry their own credentials, still answer. PROXYHUB_DEV_ANONYMOUS_UPLOADS (the test default,
 * see testConfig) is the development opt-in; every other plain-HTTP test exercises it.
 */
import t from 'tap';
import { describePlan, routeTables } from '../../cli/plan.ts';
import { parseRoles } from '../../hub/config/roles.ts';
import { startHubWithForeman } from '../helpers/hub-with-foreman.ts';

const { hub, foreman, config } = await startHubWithForeman(t, { roles: 'ingress,control,worker:reports', overrides: () => ({ devAnonymousUploads: false }) });

/** A route pattern with every parameter filled in, so that only the guard can answer. */
const concrete = (url: string): string => url.replace(/:[a-z_]+/gi, (name) => (name === ':policy_id' ? '1' : name === ':format' ? 'config_report' : 'x1'));

async function call(method: string, url: string): Promise<{ status: number; body: { code?: string; detail?: string } }> {
  const response = await fetch(url, method === 'POST' ? { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'hosta.example.com', host: 'hosta.example.com', facts: {} }) } : { method });
  const text = await response.text();
  return { status: response.status, body: text.startsWith('{') ? (JSON.parse(text) as { code?: string; detail?: string }) : {} };
}

t.test('every host route refuses an anonymous caller and says how to give it an identity', async (t) => {
  const hostRoutes = (await routeTables(config)).ingress.filter((route) => route.guard === 'client certificate');
  t.ok(hostRoutes.length >= 10, `${hostRoutes.length} host routes`);
  for (const route of hostRoutes) {
    const answer = await call(route.method, `${hub.ingressUrl}${concrete(route.url)}`);
    t.equal(answer.status, 403, `${route.method} ${route.url}`);
    t.equal(answer.body.code, 'PROXYHUB_AUTH_CERT_REQUIRED');
    t.match(answer.body.detail, /PROXYHUB_FRONT_PROXIES.*PROXYHUB_DEV_ANONYMOUS_UPLOADS/);
  }
  t.equal(foreman.requests.filter((request) => /facts|reports|arf/.test(request.path)).length, 0, 'nothing reached Foreman');
});

t.test('the plan says so', async (t) => {
  t.match(await describePlan(config, parseRoles('ingress')), /POST \/api\/v2\/hosts\/facts\s+refused \(no client identity/);
});

t.test('routes with their own credentials and the control listener still answer', async (t) => {
  t.equal((await fetch(`${hub.ingressUrl}/healthz`)).status, 200);
  t.equal((await fetch(`${hub.ingressUrl}/ssh/pubkey`)).status !== 403, true, 'the REX public key is not behind an identity');
  t.equal((await fetch(`${hub.controlUrl}/features`)).status, 200);
  // The control listener's protected routes are decided by trusted_hosts (here the development
  // flag on loopback), not by the ingress's missing identity.
  t.equal((await fetch(`${hub.controlUrl}/v2/features`)).status, 200);
});
