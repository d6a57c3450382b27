/**
 * The ingress keeps the event id of an upload it answered 503, for a resend of the same content:
 * same type, sender, subject and data; never for other content, never past its time, never
 * beyond its bound, and not once the resend was accepted.
 */
import t from 'tap';
import { createEvent } from '../../contracts/events/create-event.ts';
import { createResendIds } from '../../hub/ingress/resend-ids.ts';

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
