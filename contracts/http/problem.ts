import { z } from 'zod';
import type { ErrorCode } from '../errors.ts';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** RFC 9457 problem details, with the catalog code and the failing request part and field. */
export const problemSchema = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  code: z.string(),
  detail: z.string().optional(),
  instance: z.string().optional(),
  errors: z
    .array(z.object({ location: z.enum(['body', 'params', 'querystring', 'headers']), field: z.string(), message: z.string() }))
    .optional(),
});

export type Problem = z.infer<typeof problemSchema> & { code: ErrorCode };

export function problemTypeUri(code: ErrorCode): string {
  return `https://github.com/proxyhub/proxyhub/blob/main/docs/errors.md#${code.toLowerCase()}`;
}

/** Accepted-upload answer: the id the event carries on the bus. */
export const acceptedSchema = z.object({ id: z.string() });
