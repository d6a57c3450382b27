/** Raised when an uploaded ARF body cannot be turned into a Foreman report:
 * not bzip2, not well-formed XML, or XML that is not an XCCDF/ARF result.
 * Callers map it to smart_proxy_openscap's "corrupted report" path, so it
 * must stay distinguishable from I/O errors of the body stream itself. */
export class ArfParseError extends Error {
  override readonly name = 'ArfParseError';

  constructor(message: string, options?: { cause: unknown }) {
    super(message, options);
  }
}
