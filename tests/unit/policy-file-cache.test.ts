/** The ingress's policy file cache: one fetch for concurrent misses, only 200s kept, bounded by bytes. */
import t from 'tap';
import { PolicyFileCache, type PolicyFileAnswer } from '../../hub/ingress/policy-file-cache.ts';

const file = (text: string, status = 200): PolicyFileAnswer => ({ status, contentType: 'application/xml', body: Buffer.from(text) });

t.test('concurrent misses share one fetch; later hits fetch nothing', async (t) => {
  const cache = new PolicyFileCache(1000);
  let fetches = 0;
  const fetch = async (): Promise<PolicyFileAnswer> => {
    fetches += 1;
    await new Promise((resolve) => setTimeout(resolve, 20));
    return file('<xml/>');
  };
  const answers = await Promise.all(Array.from({ length: 10 }, () => cache.get('a', fetch)));
  t.equal(fetches, 1);
  t.ok(answers.every((a) => a.body.toString() === '<xml/>'));
  await cache.get('a', fetch);
  t.equal(fetches, 1, 'served from memory');
});

t.test('a refusal or a failure is not kept', async (t) => {
  const cache = new PolicyFileCache(1000);
  let fetches = 0;
  t.equal((await cache.get('a', async () => (fetches++, file('no', 404)))).status, 404);
  t.equal((await cache.get('a', async () => (fetches++, file('yes')))).status, 200);
  t.equal(fetches, 2, 'the 404 was asked again');
  await t.rejects(cache.get('b', async () => Promise.reject(new Error('down'))));
  t.equal((await cache.get('b', async () => file('back'))).body.toString(), 'back', 'a failed fetch is retried by the next caller');
});

t.test('a file that is not what its name says is served but not kept', async (t) => {
  const cache = new PolicyFileCache(1000);
  let fetches = 0;
  for (let i = 0; i < 2; i += 1) await cache.get('a', async () => (fetches++, { ...file('x'), cacheable: false }));
  t.equal(fetches, 2);
  t.equal(cache.bytes, 0);
});

t.test('bounded by bytes, least recently used out first', async (t) => {
  const cache = new PolicyFileCache(10);
  await cache.get('a', async () => file('aaaa'));
  await cache.get('b', async () => file('bbbb'));
  await cache.get('a', async () => file('XXXX')); // a hit: a becomes most recent
  await cache.get('c', async () => file('cccc')); // 12 bytes > 10: b (least recent) goes
  t.equal(cache.bytes, 8);
  t.equal((await cache.get('a', async () => file('new-a'))).body.toString(), 'aaaa', 'a kept');
  t.equal((await cache.get('b', async () => file('new-b'))).body.toString(), 'new-b', 'b was evicted');
  await cache.get('huge', async () => file('x'.repeat(11)));
  t.ok(cache.bytes <= 10, 'a file larger than the cache is served, not kept');
});
