/**
 * What `proxyhub` exits with, the same for every command, so scripts can tell "try again later"
 * from "fix the command line" from "there is nothing by that name". `proxyhub help` and the
 * README list them from here.
 */
import { ProxyhubError } from '../contracts/errors.ts';

export const exitCodes = {
  ok: { code: 0, meaning: 'success' },
  failed: { code: 1, meaning: 'the operation failed: the broker, Redis or another dependency could not be reached, or an unexpected error' },
  usage: { code: 2, meaning: 'invalid command line or configuration: unknown command or option, missing argument, invalid or unsafe configuration' },
  notFound: { code: 3, meaning: 'not found: no dead letter or job by that id' },
  degraded: { code: 4, meaning: '`status` only: everything answered, but something needs attention (a dependency down, an expected feature with no live instance, dead letters waiting)' },
} as const;

export type ExitCode = (typeof exitCodes)[keyof typeof exitCodes]['code'];

/**
 * A command line that cannot run as given: the catalog's invalid-input error, which `main`
 * answers with exit 2 and a pointer to the command's help.
 */
export function usageError(message: string): ProxyhubError {
  return new ProxyhubError('PROXYHUB_INPUT_INVALID', message);
}

export function exitCodeTable(): string {
  return Object.values(exitCodes).map(({ code, meaning }) => `  ${code}  ${meaning}`).join('\n');
}
