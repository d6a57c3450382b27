/**
 * Several broker nodes behind one setting: the list, where a connection starts, the order it
 * fails over in, one-shot connects that try each node, and logs that never show a password.
 */
import t from 'tap';
import { BrokerRotation, brokerUrls, connectToAny } from '../../hub/bus/broker-urls.ts';
import { amqp091UrlOf } from '../../hub/bus/transport.ts';
import { redactUrl } from '../../hub/log/logger.ts';

const NODES = 'amqp://u:pw@a:5672,amqp://u:pw@b:5672,amqp://u:pw@c:5672';

t.test('a list splits into its nodes; one URL is a list of one', async (t) => {
  t.strictSame(brokerUrls(' amqp://a , amqp://b,,'), ['amqp://a', 'amqp://b']);
  t.strictSame(brokerUrls('amqp://a'), ['amqp://a']);
  t.throws(() => new BrokerRotation(' , '), /no broker URL/);
});

t.test('a rotation starts where chance puts it and walks the list round and round', async (t) => {
  const fromFirst = new BrokerRotation(NODES, () => 0);
  t.equal(fromFirst.current, 'amqp://u:pw@a:5672');
  t.strictSame([fromFirst.advance(), fromFirst.advance(), fromFirst.advance()], ['amqp://u:pw@b:5672', 'amqp://u:pw@c:5672', 'amqp://u:pw@a:5672']);
  t.equal(new BrokerRotation(NODES, () => 0.99).current, 'amqp://u:pw@c:5672', 'replicas spread over the nodes');
  const single = new BrokerRotation('amqp://only');
  t.equal(single.advance(), 'amqp://only', 'one node: the same one again');
});

t.test('a one-shot connect tries every node once, from the random start', async (t) => {
  const tried: string[] = [];
  const result = await connectToAny(NODES, async (url) => {
    tried.push(url);
    if (!url.includes('@a:')) throw new Error(`refused by ${url}`);
    return 'connected';
  }, () => 0.5);
  t.equal(result, 'connected');
  t.strictSame(tried, ['amqp://u:pw@b:5672', 'amqp://u:pw@c:5672', 'amqp://u:pw@a:5672']);
  await t.rejects(connectToAny(NODES, async (url) => Promise.reject(new Error(`refused by ${url}`)), () => 0), /refused by amqp:\/\/u:pw@c:5672/, 'all failing: the last error');
});

t.test('the AMQP 1.0 scheme is rewritten for the 0-9-1 side channel node by node', async (t) => {
  t.equal(amqp091UrlOf('amqp10://a,amqp10s://b, amqp10://c'), 'amqp://a,amqps://b, amqp://c');
  t.equal(amqp091UrlOf('amqp://a'), 'amqp://a');
});

t.test('every password in a list is redacted', async (t) => {
  t.equal(redactUrl(NODES), 'amqp://u:***@a:5672,amqp://u:***@b:5672,amqp://u:***@c:5672');
  t.equal(redactUrl('amqp://u:pw@a:5672'), 'amqp://u:***@a:5672');
});
