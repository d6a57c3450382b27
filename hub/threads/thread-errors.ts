/**
 * Errors cross a worker thread's boundary as plain records: structured clone keeps neither the
 * class nor our own fields, and a parse error must reach the caller with its catalog code (the
 * openscap worker dead-letters by it, the ingress answers by it).
 */
import { errorCatalog, ProxyhubError, type ErrorCode } from '../../contracts/errors.ts';

export interface ErrorRecord {
  readonly name: string;
  readonly message: string;
  readonly code?: string;
  readonly field?: string;
  readonly location?: ProxyhubError['location'];
}

export function toErrorRecord(error: unknown): ErrorRecord {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  const { code, field, location } = error as { code?: unknown; field?: unknown; location?: unknown };
  return {
    name: error.name,
    message: error.message,
    ...(typeof code === 'string' ? { code } : {}),
    ...(typeof field === 'string' ? { field } : {}),
    ...(location === 'body' || location === 'params' || location === 'querystring' || location === 'headers' ? { location } : {}),
  };
}

const isErrorCode = (code: string | undefined): code is ErrorCode => code !== undefined && code in errorCatalog;

/** A catalog code comes back as a ProxyhubError (status, retryable, field); anything else as a named Error. */
export function fromErrorRecord(record: ErrorRecord): Error {
  if (isErrorCode(record.code)) {
    return new ProxyhubError(record.code, record.message, { ...(record.field === undefined ? {} : { field: record.field }), ...(record.location === undefined ? {} : { location: record.location }) });
  }
  return Object.assign(new Error(record.message), { name: record.name });
}
