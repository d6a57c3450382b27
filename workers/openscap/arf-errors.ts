/** Raised when an uploaded ARF body cannot be turned into a Foreman report:
 * not bzip2, not well-formed XML, or XML that is not an XCCDF/ARF result.
 * Callers map it to smart_proxy_openscap's "corrupted report" path, so it
 * must stay distinguishable from I/O errors of the body stream itself. */
export class ArfParseError extends Error {
  override readonly name: string = 'ArfParseError';

  constructor(message: string, options?: { cause: unknown }) {
    super(message, options);
  }
}

/** Raised when the Foreman report built from a well-formed ARF would pass the byte bound: a
 * small set-value substituted into fixes that many rule results repeat can expand a few KiB of
 * XML into gigabytes of JSON. A separate class (not a parse error) because the report is valid
 * and the operator's remedy differs: raise the bound, or find who sent it. */
export class ArfReportTooLargeError extends Error {
  override readonly name = 'ArfReportTooLargeError';

  constructor(readonly limitBytes: number) {
    super(`the Foreman report built from this ARF would be more than ${describeBytes(limitBytes)} of JSON`);
  }
}

const MIB = 1024 * 1024;

export const describeBytes = (bytes: number): string => (bytes % MIB === 0 ? `${bytes / MIB} MiB` : `${bytes} bytes`);
