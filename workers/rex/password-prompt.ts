/**
 * Gives the effective user's password to sudo/dzdo only when it asks. The runner starts them
 * with `-S -p <prompt>`: they print the prompt on stderr and read one line from stdin. The
 * password is written once, when the prompt shows up in the stderr stream — never blindly up
 * front, where a script running without a prompt (no user switch, NOPASSWD, cached
 * credentials) would read it and print it into the output that goes to Foreman. The prompt is
 * removed from the output; a second prompt means the password was refused, and stdin is then
 * closed so sudo gives up instead of the script ever reading anything.
 */
import { randomBytes } from 'node:crypto';

/** A prompt no script prints by accident; random per job so that no script can guess it. */
export const newPasswordPrompt = (): string => `[proxyhub-rex-password-${randomBytes(9).toString('hex')}] `;

export interface PromptAnswererHooks {
  /** Writes to the remote command's stdin. */
  answer(line: string): void;
  /** sudo asked again: the password was not accepted. */
  refused(): void;
}

export interface PromptAnswerer {
  /** Takes decoded stderr text; returns the part to show (prompts removed, a partial one held). */
  filter(text: string): string;
  /** The text held back at the end of the stream. */
  flush(): string;
}

/** How many characters at the end of `text` could be the start of `prompt`. */
function partialPromptAtEnd(text: string, prompt: string): number {
  for (let length = Math.min(text.length, prompt.length - 1); length > 0; length -= 1) {
    if (text.endsWith(prompt.slice(0, length))) return length;
  }
  return 0;
}

export function createPromptAnswerer(prompt: string, password: string, hooks: PromptAnswererHooks): PromptAnswerer {
  let held = '';
  let prompts = 0;
  return {
    filter(text) {
      let rest = held + text;
      let shown = '';
      for (let at = rest.indexOf(prompt); at !== -1; at = rest.indexOf(prompt)) {
        shown += rest.slice(0, at);
        rest = rest.slice(at + prompt.length);
        prompts += 1;
        if (prompts === 1) hooks.answer(`${password}\n`);
        else if (prompts === 2) hooks.refused();
      }
      // A prompt split over two chunks must neither be shown nor missed.
      const partial = partialPromptAtEnd(rest, prompt);
      held = rest.slice(rest.length - partial);
      return shown + rest.slice(0, rest.length - partial);
    },
    flush() {
      const rest = held;
      held = '';
      return rest;
    },
  };
}
