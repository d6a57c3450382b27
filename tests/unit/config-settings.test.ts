import t from 'tap';
import { loadConfig } from '../../hub/config/load.ts';
import { hubEnvironment, testConfig, testPrefix } from '../helpers/hub-harness.ts';

t.test('a spawned hub gets exactly the test configuration', async (t) => {
  const config = testConfig(testPrefix(), 'https://foreman.example.com', { trustedHosts: [], foreman: { url: 'https://foreman.example.com', timeoutMs: 4321 } });
  const { logLevel: _spawned, ...rest } = loadConfig(hubEnvironment(config));
  const { logLevel: _tested, ...expected } = config;
  t.strictSame(rest, expected);
});
