/**
 * The effective user's password goes to sudo's prompt and nowhere else: written once when the
 * prompt appears (even split over chunks), the prompt kept out of the output, a second prompt
 * reported as a refusal, and nothing written when no prompt comes.
 */
import t from 'tap';
import { createPromptAnswerer, newPasswordPrompt } from '../../workers/rex/password-prompt.ts';

const PROMPT = '[proxyhub-rex-password-abc] ';

function answererWith(password = 'hunter2') {
  const written: string[] = [];
  let refusals = 0;
  const answerer = createPromptAnswerer(PROMPT, password, { answer: (line) => written.push(line), refused: () => (refusals += 1) });
  return { answerer, written, refusals: () => refusals };
}

t.test('no prompt: nothing is written and stderr passes through', async (t) => {
  const { answerer, written } = answererWith();
  t.equal(answerer.filter('warning: something\n'), 'warning: something\n');
  t.equal(answerer.filter('[proxyhub-rex'), '', 'what could start a prompt is held');
  t.equal(answerer.filter(' is not it\n'), '[proxyhub-rex is not it\n', 'and shown once it is not one');
  t.equal(answerer.filter('ends with ['), 'ends with ');
  t.equal(answerer.flush(), '[', 'held text comes out at the end');
  t.same(written, []);
});

t.test('a prompt, whole or split over chunks, is answered once and removed', async (t) => {
  const whole = answererWith();
  t.equal(whole.answerer.filter(`lecture\n${PROMPT}`), 'lecture\n');
  t.same(whole.written, ['hunter2\n']);
  const split = answererWith();
  t.equal(split.answerer.filter(PROMPT.slice(0, 10)), '');
  t.same(split.written, []);
  t.equal(split.answerer.filter(`${PROMPT.slice(10)}script stderr\n`), 'script stderr\n');
  t.same(split.written, ['hunter2\n']);
  t.equal(split.refusals(), 0);
});

t.test('a second prompt is a refusal: nothing more is written', async (t) => {
  const { answerer, written, refusals } = answererWith();
  answerer.filter(PROMPT);
  t.equal(answerer.filter(`Sorry, try again.\n${PROMPT}`), 'Sorry, try again.\n');
  answerer.filter(PROMPT);
  t.same(written, ['hunter2\n'], 'written exactly once');
  t.equal(refusals(), 1, 'reported once');
});

t.test('prompts are random per job and free of sudo escapes', async (t) => {
  const prompt = newPasswordPrompt();
  t.not(prompt, newPasswordPrompt());
  t.notMatch(prompt, /%/, 'sudo -p expands %u, %h...');
  t.notMatch(prompt, /'/);
});
