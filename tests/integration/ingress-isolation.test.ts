/**
 * The ingress process reaches the broker and nothing else: after serving uploads it holds no
 * connection to Redis, to Foreman or anywhere but RabbitMQ, and listens only on its own port.
 */
import t from 'tap';
import { fixedTestPort, testConfig } from '../helpers/hub-harness.ts';
import { startForemanFor } from '../helpers/hub-with-foreman.ts';
import { tcpSocketsOf } from '../helpers/sockets.ts';
import { spawnHubFor, startHubFor, usePrefix } from '../helpers/test-hub.ts';
import { waitFor } from '../helpers/wait-for.ts';

const BROKER_PORT = Number(new URL(process.env.PROXYHUB_AMQP_URL ?? 'amqp://127.0.0.1:5672').port || 5672);
const prefix = usePrefix(t);
const INGRESS_PORT = fixedTestPort();
// No Foreman URL: an ingress-only process refuses to start with one (config check rule).
const config = testConfig(prefix, 'http://127.0.0.1:9', { ingress: { host: '127.0.0.1', port: INGRESS_PORT }, foreman: { timeoutMs: 1000 } });
const ingress = await spawnHubFor(t, config, 'ingress', { PROXYHUB_FOREMAN_URL: '' });
// Registration is answered by a worker elsewhere (here, in the test process) that reaches Foreman.
const foreman = await startForemanFor(t);
await startHubFor(t, testConfig(prefix, foreman.url), 'worker:registration');

t.test('after serving uploads and a registration, the ingress is connected to the broker only', async (t) => {
  for (let i = 0; i < 20; i += 1) {
    const response = await fetch(`http://127.0.0.1:${INGRESS_PORT}/api/v2/hosts/facts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: `iso-${i}.example.com`, facts: {} }) });
    t.equal(response.status, 202);
  }
  const registration = await fetch(`http://127.0.0.1:${INGRESS_PORT}/register?organization_id=1`, { headers: { authorization: 'Bearer token' } });
  t.equal(registration.status, 200, 'registration answered through the broker');
  t.match(await registration.text(), /rendered GET \/register/);
  t.equal(foreman.requests.length, 1, 'by the worker, which called Foreman');
  const pid = ingress.process.pid as number;
  const sockets = await waitFor(() => {
    const current = tcpSocketsOf(pid).filter((s) => s.state !== 'TIME_WAIT');
    // Client keep-alive sockets from this test close once fetch's pool lets go of them.
    return current.every((s) => s.state === 'LISTEN' || s.remotePort === BROKER_PORT || s.localPort === INGRESS_PORT) && current;
  });
  const outbound = sockets.filter((s) => s.state !== 'LISTEN' && s.localPort !== INGRESS_PORT);
  t.ok(outbound.length >= 1, 'it is connected to the broker');
  t.same([...new Set(outbound.map((s) => s.remotePort))], [BROKER_PORT], `outbound connections go to port ${BROKER_PORT} only`);
  t.same(sockets.filter((s) => s.state === 'LISTEN').map((s) => s.localPort), [INGRESS_PORT], 'it listens on the ingress port only');
  t.notOk(sockets.some((s) => s.remotePort === 6379), 'no Redis connection');
});
