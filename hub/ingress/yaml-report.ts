/**
 * A report upload's body → the report the event carries, or the catalog error the client gets.
 * A YAML body above PROXYHUB_YAML_THREAD_THRESHOLD_BYTES goes through all of it in a parse thread
 * (yaml-parse-thread.ts): the pre-scan, the parse, the nesting walk and the schema check are each
 * linear in the body, and an 8 MiB report would hold the ingress's loop for a noticeable time.
 */
import type { z } from 'zod';
import { ProxyhubError } from '../../contracts/errors.ts';
import { uploadedReportSchema } from '../../contracts/events/report-uploaded.ts';
import { assertNesting, assertYamlFlowBounds } from './input-shape.ts';
import { parseRubyYaml } from './ruby-yaml.ts';

export type UploadedReport = z.infer<typeof uploadedReportSchema>;

/** Nesting and the report schema, for a document parsed from JSON or YAML. */
export function validateReport(document: unknown): UploadedReport {
  assertNesting(document);
  const parsed = uploadedReportSchema.safeParse(document);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.join('.') || 'body';
    throw new ProxyhubError('PROXYHUB_INPUT_INVALID', `body ${field}: ${issue?.message ?? 'invalid report'}`, { field });
  }
  return parsed.data;
}

export function readYamlReport(text: string): UploadedReport {
  assertYamlFlowBounds(text);
  // parseRubyYaml refuses bad YAML itself, as PROXYHUB_INPUT_MALFORMED naming the body.
  return validateReport(parseRubyYaml(text));
}
