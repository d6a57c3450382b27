/**
 * The decoder's errors. Every one means "this is not intact bzip2 data" and, since proxyhub only
 * decodes uploaded ARF reports, carries the catalog's PROXYHUB_ARF_UNPARSEABLE.
 */
import { ProxyhubError } from '../../../contracts/errors.ts';

export function corrupt(message: string, cause?: unknown): ProxyhubError {
  return new ProxyhubError('PROXYHUB_ARF_UNPARSEABLE', message, cause === undefined ? {} : { cause });
}

/** Input ran out inside a block: thrown deep in the bit reader, turned into `corrupt` by the stream. */
export class Truncated extends Error {}
