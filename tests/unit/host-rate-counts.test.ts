/**
 * The rate limit's counts (hub/http/host-rate-counts.ts): per host per clock window, and in an
 * ingress of several processes the sum of every process's counts. Two stores stand for two
 * processes here, joined as the primary joins them (each hears the other, never itself).
 */
import t from 'tap';
import type { PeerChannel } from '../../hub/cluster/peer-messages.ts';
import { hostRateCountsStore, type HostRateCounts, type RateLimitStore } from '../../hub/http/host-rate-counts.ts';

const MINUTE = 60_000;

/** Two processes' channels: what one publishes the other hears, at once or when `deliver` is called. */
function joinedPair(): { a: PeerChannel<HostRateCounts>; b: PeerChannel<HostRateCounts>; sent: HostRateCounts[] } {
  const listeners: { a: Array<(p: HostRateCounts) => void>; b: Array<(p: HostRateCounts) => void> } = { a: [], b: [] };
  const sent: HostRateCounts[] = [];
  const channel = (self: 'a' | 'b', other: 'a' | 'b'): PeerChannel<HostRateCounts> => ({
    publish: (payload) => {
      sent.push(payload);
      for (const apply of listeners[other]) apply(payload);
    },
    subscribe: (apply) => void listeners[self].push(apply),
  });
  return { a: channel('a', 'b'), b: channel('b', 'a'), sent };
}

/** Two processes' stores, joined as the primary joins them, both reading the clock `now`. */
function joinedStores(now: () => number): { a: RateLimitStore; b: RateLimitStore; pair: ReturnType<typeof joinedPair> } {
  const pair = joinedPair();
  const A = hostRateCountsStore({ share: pair.a, flushMs: 5, now });
  const B = hostRateCountsStore({ share: pair.b, flushMs: 5, now });
  return { a: new A(), b: new B(), pair };
}

function incr(store: RateLimitStore, host: string): { current: number; ttl: number } {
  let result: { current: number; ttl: number } | undefined;
  store.incr(host, (error, answer) => {
    if (error) throw error;
    result = answer;
  }, MINUTE, 10);
  if (result === undefined) throw new Error('incr answered later than at once');
  return result;
}

function read(store: RateLimitStore, host: string): number {
  let current = -1;
  store.read(host, (_error, answer) => (current = answer.current), MINUTE);
  return current;
}

const flushed = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 30));

t.test('one process counts each host within a minute from its first request', async (t) => {
  let now = 5 * MINUTE + 10_000;
  const Store = hostRateCountsStore({ now: () => now });
  const store = new Store();
  t.same(incr(store, 'a.example.com'), { current: 1, ttl: MINUTE }, 'the window starts with the first request');
  now += 20_000;
  t.same(incr(store, 'a.example.com'), { current: 2, ttl: 40_000 });
  t.same(incr(store, 'b.example.com'), { current: 1, ttl: MINUTE }, 'hosts are counted apart, each in its own window');
  t.equal(read(store, 'a.example.com'), 2, 'read does not count');
  t.equal(store.child({}), store, 'a route with options of its own shares the host counts');
  now += 40_000;
  t.same(incr(store, 'a.example.com'), { current: 1, ttl: MINUTE }, "a's minute is over: a new one starts at 0");
  t.equal(read(store, 'b.example.com'), 1, "b's minute is not");
  now += 20_000;
  t.equal(read(store, 'b.example.com'), 0, "and now b's is");
});

t.test('two processes of one ingress add what the other counted', async (t) => {
  let now = 5 * MINUTE;
  const { a, b, pair } = joinedStores(() => now);
  for (let i = 0; i < 4; i++) incr(a, 'host.example.com');
  incr(a, 'other.example.com');
  t.equal(pair.sent.length, 0, 'counts go out together after flushMs, not per request');
  await flushed();
  t.same(pair.sent, [{ counts: [['host.example.com', now, 4], ['other.example.com', now, 1]] }], 'one message for all hosts, each with its window');
  now += 1000;
  t.same(incr(b, 'host.example.com'), { current: 5, ttl: MINUTE - 1000 }, "the other process's 4 requests count here, in the window they started");
  t.equal(read(b, 'other.example.com'), 1);
  await flushed();
  t.equal(read(a, 'host.example.com'), 5, 'and the other way round');
  t.equal(read(b, 'host.example.com'), 5, "a process's own message does not come back to it");
  await flushed();
  t.equal(pair.sent.length, 2, 'nothing new counted, nothing sent');
});

t.test('windows that two processes started apart, and counts that come too late', async (t) => {
  let now = 5 * MINUTE;
  const { a, b, pair } = joinedStores(() => now);
  incr(a, 'host.example.com');
  now += 50;
  incr(b, 'host.example.com');
  await flushed();
  t.same(read(a, 'host.example.com'), 2, 'each first request started a window; the counts add up');
  now += 59_960;
  t.same(incr(b, 'host.example.com'), { current: 1, ttl: MINUTE }, "the earlier start holds: b's window ended with a's");
  await flushed();
  t.equal(read(a, 'host.example.com'), 1, "a starts the window b began");
  pair.b.publish({ counts: [['host.example.com', now - MINUTE, 100]] });
  t.equal(read(a, 'host.example.com'), 1, 'counts of a window that is over are ignored');
});

t.test('counts not yet sent when the window moved to an earlier start travel with it', async (t) => {
  let now = 5 * MINUTE;
  const { a, b, pair } = joinedStores(() => now);
  const start = now;
  incr(a, 'host.example.com');
  now += 1000;
  incr(b, 'host.example.com');
  // B hears of A's earlier start before its own count went out.
  pair.a.publish({ counts: [['host.example.com', start, 1]] });
  incr(b, 'host.example.com');
  await flushed();
  const fromB = pair.sent.filter((message) => message.counts.some(([, windowStart, requests]) => windowStart === start && requests === 2));
  t.equal(fromB.length, 1, "both of B's requests went out, under A's start");
  t.equal(read(a, 'host.example.com'), 3, 'A counts them: 1 of its own, 2 of B');
});

t.test('the hosts counted are bounded, and windows that are over are dropped', async (t) => {
  let now = 0;
  const Store = hostRateCountsStore({ maxHosts: 3, now: () => now });
  const store = new Store();
  for (const host of ['a', 'b', 'c']) incr(store, host);
  incr(store, 'a');
  incr(store, 'd');
  t.equal(read(store, 'a'), 0, 'the host counted first is forgotten');
  t.equal(read(store, 'b'), 1);
  t.equal(read(store, 'd'), 1);
  now = 30_000;
  incr(store, 'e');
  t.equal(store.hosts, 3);
  now = MINUTE + 1;
  incr(store, 'f');
  t.equal(store.hosts, 2, 'once a window length has passed, the windows that are over are dropped: e and f are left');
  t.equal(read(store, 'e'), 1);
});
