/**
 * A worker killed with SIGKILL while deliveries are in flight: the broker redelivers them and a
 * new worker delivers every one. Duplicates are allowed only for calls Foreman had already taken.
 * Runs once per transport, AMQP 0-9-1 and AMQP 1.0 (@every-transport; see scripts/test.mjs).
 */
import t from 'tap';
import { deleteTopology, spawnHub, startTestHub, testConfig, testPrefix } from '../helpers/hub-harness.ts';
import { TestForeman } from '../helpers/test-foreman.ts';
import { waitFor } from '../helpers/wait-for.ts';

// Hub processes start here one after another; at the parallel suite's outset one start has taken
// over 30 s, and spawnHub waits up to 65 s: tap's 180 s per file would cut such a run short.
t.setTimeout(300_000);

const FACTS = '/api/v2/hosts/facts';
const EVENTS = 60;

const foreman = new TestForeman();
await foreman.start();
const prefix = testPrefix();
const config = testConfig(prefix, foreman.url);
const ingress = await startTestHub(config, 'ingress');
t.teardown(async () => {
  await ingress.close();
  await foreman.stop();
  await deleteTopology(prefix);
});

t.test('SIGKILL with deliveries in flight loses nothing', async (t) => {
  foreman.fault = { delayMs: 2000 };
  const worker = await spawnHub(config, 'worker:facts');
  const names = Array.from({ length: EVENTS }, (_, i) => `kill-${i}.example.com`);
  for (const name of names) {
    const response = await fetch(`${ingress.ingressUrl}${FACTS}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, facts: {} }) });
    t.equal(response.status, 202, `${name} accepted`);
  }
  await waitFor(() => foreman.received >= 10, { what: 'calls in flight at Foreman' });
  // Foreman answers after 2 s, so what it answered just before the kill is all the worker saw
  // answered; what it took until the process was gone (the worker kept sending until the signal
  // landed) may come again.
  const answeredBeforeKill = foreman.requests.length;
  worker.process.kill('SIGKILL');
  await worker.stop();
  const inFlightAtKill = foreman.received - answeredBeforeKill;
  t.ok(inFlightAtKill >= 10, `${inFlightAtKill} deliveries were in flight when the worker died`);
  t.ok(foreman.delivered(FACTS).length < EVENTS, 'the worker died before finishing');

  foreman.fault = {};
  const replacement = await spawnHub(config, 'worker:facts');
  t.teardown(() => replacement.stop());
  await waitFor(() => new Set(foreman.delivered(FACTS).map((r) => (r.body as { name: string }).name)).size === EVENTS, { timeoutMs: 30_000, what: 'every event delivered' });
  const deliveredNames = foreman.delivered(FACTS).map((r) => (r.body as { name: string }).name);
  t.same(new Set(deliveredNames), new Set(names), 'every accepted upload reached Foreman');
  t.ok(deliveredNames.length - EVENTS <= inFlightAtKill, `duplicates (${deliveredNames.length - EVENTS}) only where Foreman took a call the dead worker never saw answered`);
  t.equal(await replacement.stop(), 0, 'the replacement shuts down cleanly on SIGTERM');
});
