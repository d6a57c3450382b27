/**
 * The ingress keeps the event id of an upload it answered 503, for a resend of the same content:
 * same type, sender, subject and data; never for other content, never past its time, never
 * beyond its bound, and not once the resend was accepted.
 */
import t from 'tap';
import { createEvent } from '../../contracts/events/create-event.ts';
import { createResendIds, type ResendIdsChange, type ResendShare } from '../../hub/ingress/resend-ids.ts';

const facts = (name: string, cn = 'a.example.com', value = '1') =>
  createEvent('facts.uploaded.v1', { name, facts: { value } }, { source: 'proxyhub/ingress/test', subject: name, clientcn: cn });

t.test('nothing remembered: the proposed envelope itself', async (t) => {
  const ids = createResendIds();
  const proposed = facts('a.example.com');
  t.equal(ids.reuse(proposed), proposed);
  t.equal(ids.size, 0);
});

t.test('a resend of refused content gets the refused id; other content keeps its own', async (t) => {
  const ids = createResendIds();
  const refused = facts('a.example.com');
  ids.remember(refused);
  const resend = facts('a.example.com');
  t.not(resend.id, refused.id, 'a new upload has a new id of its own');
  const reused = ids.reuse(resend);
  t.equal(reused.id, refused.id, 'the resend goes out under the first id');
  t.equal(reused.time, resend.time, 'everything else is the resend’s');
  for (const [what, other] of [
    ['other data', facts('a.example.com', 'a.example.com', '2')],
    ['another sender', facts('a.example.com', 'b.example.com')],
    ['another subject', facts('c.example.com')],
  ] as const) {
    t.equal(ids.reuse(other).id, other.id, `${what}: its own id`);
  }
  ids.forget(reused);
  t.equal(ids.reuse(facts('a.example.com')).id === refused.id, false, 'accepted once: the next identical upload is a new one');
  t.equal(ids.size, 0);
});

t.test('ids are kept for a while, and at most so many', async (t) => {
  let clock = 0;
  const ids = createResendIds({ keepMs: 1000, maxEntries: 2, now: () => clock });
  const first = facts('1.example.com');
  ids.remember(first);
  clock = 999;
  t.equal(ids.reuse(facts('1.example.com')).id, first.id, 'still kept just before its time');
  clock = 1000;
  t.not(ids.reuse(facts('1.example.com')).id, first.id, 'gone at its time');
  t.equal(ids.size, 0, 'and dropped');
  const [a, b, c] = ['a', 'b', 'c'].map((n) => facts(`${n}.example.com`));
  for (const refused of [a, b, c]) ids.remember(refused!);
  t.equal(ids.size, 2, 'bounded');
  t.not(ids.reuse(facts('a.example.com')).id, a!.id, 'the oldest went first');
  t.equal(ids.reuse(facts('c.example.com')).id, c!.id);
});

t.test('the processes of one ingress share what they remember and forget', async (t) => {
  // Two processes joined as the cluster's primary joins them: each change reaches the others.
  const listeners: Array<(change: ResendIdsChange) => void> = [];
  const published: ResendIdsChange[] = [];
  const share = (own: number): ResendShare => ({
    publish: (change) => {
      published.push(change);
      listeners.forEach((apply, index) => index !== own && apply(change));
    },
    subscribe: (apply) => void (listeners[own] = apply),
  });
  const [a, b] = [createResendIds({ share: share(0) }), createResendIds({ share: share(1) })];
  const refused = facts('a.example.com');
  a.remember(refused);
  const resend = b.reuse(facts('a.example.com'));
  t.equal(resend.id, refused.id, 'a resend on the other process goes out under the refused id');
  b.forget(resend);
  t.equal(a.size, 0, 'accepted there: forgotten here too');
  t.not(a.reuse(facts('a.example.com')).id, refused.id, 'the next identical upload is a new one on either process');
  t.same(published.map((change) => change.op), ['remember', 'forget'], 'each change is told once: what arrives is not passed on again');
  b.forget(facts('z.example.com'));
  t.equal(published.length, 2, 'forgetting what was never remembered tells nobody');
});
