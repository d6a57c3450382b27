/**
 * The admission controller's state machine on a hand-driven clock: the in-flight limit is a hard
 * cap (a freed slot is taken at once), lag starts a spell that lasts until the loop is calm, and
 * spells are reported once at each end, since refusing is what makes the signals fall.
 */
import t from 'tap';
import { DELAY_CALM_MS, createAdmissionController, type AdmissionChange, type AdmissionLimits } from '../../hub/http/admission.ts';

function makeController(limits: Partial<AdmissionLimits> = {}) {
  let now = 0;
  const changes: AdmissionChange[] = [];
  const controller = createAdmissionController({ maxInflight: 0, maxDelayMs: 0, ...limits }, { now: () => now, onChange: (change) => changes.push(change) });
  return {
    controller,
    changes,
    advance: (ms: number) => {
      now += ms;
    },
    admitMany: (count: number) => Array.from({ length: count }, () => controller.tryAdmit()),
  };
}

t.test('with both signals off every request is admitted', async (t) => {
  const { controller, admitMany } = makeController();
  t.ok(admitMany(10_000).every(Boolean));
  controller.observeLag(60_000);
  t.ok(controller.tryAdmit());
  t.equal(controller.shedding, false);
});

t.test('in flight: a hard cap; a freed slot is taken at once; the spell ends at the low mark', async (t) => {
  const { controller, changes, admitMany } = makeController({ maxInflight: 8 });
  t.same(admitMany(8), Array(8).fill(true), 'up to the limit');
  t.equal(controller.tryAdmit(), false, 'the ninth is refused');
  t.same(changes, [{ shedding: true, reason: 'inflight', refused: 0, inflight: 8 }]);
  controller.release();
  t.equal(controller.tryAdmit(), true, 'a freed slot is taken by the next request: the listener never idles under load');
  t.equal(controller.tryAdmit(), false, 'and the cap holds again');
  t.equal(changes.length, 1, 'no report per freed slot while the spell lasts');
  controller.release();
  controller.release();
  t.equal(controller.shedding, false, 'at the low mark (6) the spell is over');
  t.same(changes.at(-1), { shedding: false, reason: undefined, refused: 2, inflight: 6 }, 'the end of the spell says how many were refused');
  t.same(admitMany(2), [true, true]);
  t.equal(controller.tryAdmit(), false, 'and the cap starts a new one');
  t.equal(changes.length, 3);
});

t.test('refusing does not feed the signal: refused requests hold no slot', async (t) => {
  const { controller, admitMany } = makeController({ maxInflight: 4 });
  admitMany(4);
  t.ok(admitMany(1000).every((admitted) => !admitted), 'a client resending at once is refused every time');
  t.equal(controller.inflight, 4, 'and holds nothing');
  for (let i = 0; i < 4; i += 1) controller.release();
  t.equal(controller.tryAdmit(), true, 'once the admitted ones are answered the next is taken at once');
  controller.release();
  controller.release();
  t.equal(controller.inflight, 0, 'never below zero');
});

t.test('delay: a lag above the mark sheds until the loop has been calm for a while', async (t) => {
  const { controller, changes, advance } = makeController({ maxDelayMs: 200 });
  controller.observeLag(150);
  t.equal(controller.shedding, false, 'between the marks nothing starts');
  controller.observeLag(2500);
  t.equal(controller.shedding, true);
  t.same(changes, [{ shedding: true, reason: 'delay', refused: 0, inflight: 0 }]);
  advance(20);
  controller.observeLag(0);
  t.equal(controller.tryAdmit(), false, 'one calm sample right after a stall is not enough');
  advance(DELAY_CALM_MS / 2);
  controller.observeLag(160);
  advance(DELAY_CALM_MS - 1);
  t.equal(controller.tryAdmit(), false, 'a lag above the low mark (150) restarts the calm period');
  advance(1);
  t.equal(controller.tryAdmit(), true, `admitted once the loop stayed below the low mark for ${DELAY_CALM_MS} ms`);
  t.equal(changes.at(-1)?.shedding, false);
  t.equal(changes.at(-1)?.refused, 2);
});

t.test('delay recovers on its own clock even when no request arrives', async (t) => {
  const { controller, advance } = makeController({ maxDelayMs: 100 });
  controller.observeLag(101);
  for (let i = 0; i < DELAY_CALM_MS / 20; i += 1) {
    advance(20);
    controller.observeLag(1);
  }
  t.equal(controller.shedding, false, 'the lag samples alone end the spell');
});

t.test('both signals: shedding stops only when every one is low', async (t) => {
  const { controller, admitMany, advance } = makeController({ maxInflight: 4, maxDelayMs: 100 });
  admitMany(4);
  t.equal(controller.tryAdmit(), false, 'started by the requests in flight');
  controller.observeLag(500);
  for (let i = 0; i < 4; i += 1) controller.release();
  t.equal(controller.tryAdmit(), false, 'nothing in flight, but the loop just lagged');
  advance(DELAY_CALM_MS);
  t.equal(controller.tryAdmit(), true, 'both low');
});
