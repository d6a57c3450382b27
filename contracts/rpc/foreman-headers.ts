/**
 * Which client headers may reach Foreman on a registration or template call. An allowlist, not a
 * blocklist: Foreman finds a template's host by its address (X-Forwarded-For, which the worker sets
 * itself), and Rack maps `X-Forwarded_For`, `X_Forwarded_For` and `X-Forwarded-For` to the one
 * variable HTTP_X_FORWARDED_FOR, so no list of names to drop can be complete. The ingress applies
 * it before a request leaves for the broker and the worker, which holds the credentials, again.
 */
import type { ForemanRequestKind } from './foreman-request.ts';

/** What the registration script's curl sends: the user's or host's Bearer token, and its body's type. */
const REGISTRATION_HEADERS = new Set(['authorization', 'content-type', 'accept', 'user-agent']);
/** Installers identify themselves by token (query) or MAC headers; POST bodies are typed by the worker. */
const TEMPLATE_HEADERS = new Set(['accept', 'user-agent']);
/** Anaconda's `X-RHN-Provisioning-MAC-<n>`, in the dashed form only (Node keeps the lower-case name). */
const PROVISIONING_MAC = /^x-rhn-provisioning-mac-\d{1,3}$/;

function allowed(kind: ForemanRequestKind, name: string): boolean {
  if (PROVISIONING_MAC.test(name)) return true;
  return kind === 'register' ? REGISTRATION_HEADERS.has(name) : TEMPLATE_HEADERS.has(name);
}

/** The headers of `headers` that may be passed on for `kind`, names lower-cased, repeats joined. */
export function foremanHeaders(kind: ForemanRequestKind, headers: Readonly<Record<string, string | readonly string[] | undefined>>): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [rawName, value] of Object.entries(headers)) {
    const name = rawName.toLowerCase();
    if (value === undefined || !allowed(kind, name)) continue;
    kept[name] = typeof value === 'string' ? value : value.join(', ');
  }
  return kept;
}
