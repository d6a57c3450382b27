/**
 * A hook that refuses a request stops it for good, even when the caller goes away while its 403
 * is still on the way out. fastify's Reply is a thenable that settles once the answer ends, also
 * when the stream was cut first, and `reply.sent` is then still false: a hook that went on after
 * refusing (an async hook returning the reply did) would run the handler of a caller it had just
 * refused. Both guards are checked with an onSend hook that cuts the connection and answers late.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import t from 'tap';
import { clientIdentityPlugin, type ClientIdentityOptions } from '../../hub/http/client-identity.ts';
import { trustedHostsPlugin } from '../../hub/http/trusted-hosts.ts';

async function guardedApp(identity: ClientIdentityOptions, trustedHosts: string[]): Promise<{ app: FastifyInstance; handled: () => number }> {
  const app = Fastify();
  app.decorateReply('problemCode', '');
  await app.register(clientIdentityPlugin, identity);
  await app.register(trustedHostsPlugin, { trustedHosts, devOpen: false, tls: false, metricsReaders: [] });
  // A refused caller goes away while its 403 waits in a slow onSend hook.
  app.addHook('onSend', async (_request, reply, payload) => {
    if (reply.statusCode === 403) reply.raw.destroy();
    await new Promise((resolve) => setTimeout(resolve, 50));
    return payload;
  });
  let handled = 0;
  const handler = (): { done: boolean } => {
    handled += 1;
    return { done: true };
  };
  app.post('/dynflow/tasks/launch', { config: { trustedHosts: true } }, handler);
  app.post('/api/v2/hosts/facts', { config: { identity: 'required' } }, handler);
  app.get('/open', () => ({ open: true }));
  return { app, handled: () => handled };
}

async function cutShort(app: FastifyInstance, url: string): Promise<void> {
  await app.inject({ method: 'POST', url, payload: {} }).catch(() => undefined);
  // Long enough for the late answer, and for a chain that went on to reach the handler.
  await new Promise((resolve) => setTimeout(resolve, 150));
}

t.test('trusted_hosts: a refused control request never reaches its handler', async (t) => {
  // Nobody listed: every control route refuses at once, with no name to look up.
  const { app, handled } = await guardedApp({ tls: false, frontProxy: { addresses: [], identityHeader: 'x-client-cn' }, anonymousWithoutSource: true }, []);
  t.teardown(() => app.close());
  await cutShort(app, '/dynflow/tasks/launch');
  t.equal(handled(), 0, 'the handler never ran for the refused caller');
  t.equal((await app.inject('/open')).statusCode, 200, 'a route with nothing to check goes through');
});

t.test('client identity: an upload without a certificate never reaches its handler', async (t) => {
  // A front proxy listed (inject's peer is 127.0.0.1) and no identity header: the caller has none.
  const { app, handled } = await guardedApp({ tls: false, frontProxy: { addresses: ['127.0.0.1'], identityHeader: 'x-client-cn' }, anonymousWithoutSource: false }, ['foreman.example.com']);
  t.teardown(() => app.close());
  await cutShort(app, '/api/v2/hosts/facts');
  t.equal(handled(), 0, 'the handler never ran for the caller without an identity');
  const answered = await app.inject({ method: 'POST', url: '/api/v2/hosts/facts', payload: {}, headers: { 'x-client-cn': 'host1.example.com' } });
  t.equal(answered.statusCode, 200, 'with the front proxy\'s identity header the same route answers');
});
