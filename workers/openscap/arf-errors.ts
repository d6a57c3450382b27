/**
 * The two ways an ARF upload fails for good, as catalog errors: both are permanent (the same
 * bytes fail the same way), so the event is dead-lettered with the reason. They are told apart
 * by code because the operator's remedy differs: a corrupt report needs a new scan; a valid one
 * too large for the bound needs the bound raised, or a word with whoever sent it.
 */
import { ProxyhubError } from '../../contracts/errors.ts';

/**
 * Not bzip2, not well-formed XML, or XML that is not an XCCDF/ARF result (smart_proxy_openscap's
 * "corrupted report"). The first line of the cause's message is kept in the reason.
 */
export function arfUnparseable(message: string, cause?: unknown): ProxyhubError {
  const detail = cause instanceof Error ? `: ${cause.message.split('\n')[0]?.slice(0, 300)}` : '';
  return new ProxyhubError('PROXYHUB_ARF_UNPARSEABLE', `${message}${detail}`, cause === undefined ? {} : { cause });
}

/**
 * The Foreman report built from a well-formed ARF would pass the byte bound: a small set-value
 * substituted into fixes that many rule results repeat can expand a few KiB of XML into
 * gigabytes of JSON.
 */
export function arfReportTooLarge(limitBytes: number): ProxyhubError {
  return new ProxyhubError(
    'PROXYHUB_ARF_REPORT_TOO_LARGE',
    `the Foreman report built from this ARF would be more than ${describeBytes(limitBytes)} of JSON (PROXYHUB_ARF_REPORT_LIMIT); not sent to Foreman`,
  );
}

const MIB = 1024 * 1024;

const describeBytes = (bytes: number): string => (bytes % MIB === 0 ? `${bytes / MIB} MiB` : `${bytes} bytes`);
