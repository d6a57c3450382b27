/**
 * trusted_hosts on plain HTTP (loopback). Stricter than the smart-proxy: unset and empty both
 * refuse everyone, unless PROXYHUB_DEV_OPEN_CONTROL on this loopback listener; a listed name
 * passes when it resolves, through the system resolver (the hosts file included), to the peer's
 * address, compared in any case. `localhost` is the case `dns.reverse` never matched.
 */
import t from 'tap';
import { testConfig } from '../helpers/hub-harness.ts';
import { startHubFor, usePrefix } from '../helpers/test-hub.ts';

const cases = [
  { name: 'unset refuses everyone', trustedHosts: undefined, devOpenControl: false, status: 403 },
  { name: 'unset with the development flag on a loopback listener lets everyone in', trustedHosts: undefined, devOpenControl: true, status: 200 },
  { name: 'an empty list refuses everyone, development flag or not', trustedHosts: [], devOpenControl: true, status: 403 },
  { name: 'localhost from the hosts file matches a loopback caller, in any case', trustedHosts: ['foreman.example.com', 'LocalHost'], devOpenControl: false, status: 200 },
  { name: 'an unlisted name is refused', trustedHosts: ['foreman.example.com'], devOpenControl: false, status: 403 },
] as const;

for (const testCase of cases) {
  t.test(testCase.name, async (t) => {
    const prefix = usePrefix(t);
    const config = testConfig(prefix, 'http://127.0.0.1:9', { devOpenControl: testCase.devOpenControl, ...(testCase.trustedHosts === undefined ? {} : { trustedHosts: [...testCase.trustedHosts] }) });
    const hub = await startHubFor(t, config, 'control');
    for (const [method, path] of [['GET', '/dead-letters'], ['POST', '/dead-letters/replay'], ['GET', '/dynflow/tasks/count']] as const) {
      const response = await fetch(`${hub.controlUrl}${path}`, { method, ...(method === 'POST' ? { headers: { 'content-type': 'application/json' }, body: '{"feature":"facts","all":true}' } : {}) });
      if (testCase.status === 403) {
        t.equal(response.status, 403, `${method} ${path}`);
        t.equal(((await response.json()) as { code: string }).code, 'PROXYHUB_AUTH_NOT_TRUSTED');
      } else t.not(response.status, 403, `${method} ${path} passes the guard`);
    }
    t.equal((await fetch(`${hub.controlUrl}/version`)).status, 200, '/version is never protected');
  });
}
