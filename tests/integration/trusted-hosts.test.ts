/**
 * trusted_hosts on plain HTTP (loopback), with the smart-proxy's semantics: unset allows all, an
 * empty list denies all, otherwise the peer's reverse-DNS name must be listed (any case).
 */
import { reverse } from 'node:dns/promises';
import t from 'tap';
import { deleteTopology, startTestHub, testConfig, testPrefix } from '../helpers/hub-harness.ts';

const loopbackName = (await reverse('127.0.0.1').catch(() => ['localhost']))[0] ?? 'localhost';

const cases = [
  { name: 'unset allows everyone', trustedHosts: undefined, status: 200 },
  { name: 'an empty list denies everyone', trustedHosts: [], status: 403 },
  { name: 'a listed name passes, compared case-insensitively', trustedHosts: ['foreman.example.com', loopbackName.toUpperCase()], status: 200 },
  { name: 'an unlisted name is refused', trustedHosts: ['foreman.example.com'], status: 403 },
] as const;

for (const testCase of cases) {
  t.test(testCase.name, async (t) => {
    const prefix = testPrefix();
    const config = testConfig(prefix, 'http://127.0.0.1:9', testCase.trustedHosts === undefined ? {} : { trustedHosts: [...testCase.trustedHosts] });
    const hub = await startTestHub(config, 'control');
    t.teardown(async () => {
      await hub.close();
      await deleteTopology(prefix);
    });
    const response = await fetch(`${hub.controlUrl}/dead-letters`);
    t.equal(response.status, testCase.status);
    if (testCase.status === 403) t.equal(((await response.json()) as { code: string }).code, 'PROXYHUB_AUTH_NOT_TRUSTED');
    t.equal((await fetch(`${hub.controlUrl}/version`)).status, 200, '/version is never protected');
  });
}
