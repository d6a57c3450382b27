/**
 * The smart-proxy's forwarding rules for registration and templates (foreman-contracts §2.5,
 * §2.6), as a pure function from the ingress's request description to the call to Foreman.
 */
import { foremanHeaders } from '../../contracts/rpc/foreman-headers.ts';
import type { ForemanRequest } from '../../contracts/rpc/foreman-request.ts';
import type { ForemanCall } from '../runtime/foreman-client.ts';

/** Query parameters the smart-proxy's templates module never passes on. */
const TEMPLATE_QUERY_BLOCKLIST = new Set(['path', 'template', 'kind', 'hostgroup', 'splat', 'captures', 'url']);
const FORM_TYPE = 'application/x-www-form-urlencoded';

export interface ForwardingSettings {
  /** The smart-proxy's `registration_url`; unset, the URL the client reached the ingress at. */
  readonly registrationUrl: string | undefined;
  /** The smart-proxy's `template_url`; unset, likewise. */
  readonly templateUrl: string | undefined;
}

function mediaType(headers: Readonly<Record<string, string>>): string {
  return (headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

const TEMPLATE_ROOTS: Readonly<Record<string, string>> = { unattended: '/unattended/', userdata: '/userdata/' };

/**
 * The worker does not take the path on trust: it must stay under the route's root once dot
 * segments are resolved, whatever the ingress sent.
 */
export function templatePath(request: Pick<ForemanRequest, 'kind' | 'path'>): string {
  const root = TEMPLATE_ROOTS[request.kind];
  const resolved = new URL(request.path, 'http://foreman.invalid').pathname;
  if (!root || !resolved.startsWith(root) || resolved.length === root.length) throw new RangeError(`path ${request.path} is outside ${root ?? 'the template routes'}`);
  return resolved;
}

export function foremanCallFor(request: ForemanRequest, settings: ForwardingSettings, timeoutMs: number): ForemanCall {
  const body = request.body === undefined ? undefined : Buffer.from(request.body, 'base64');
  // Enforced again here: the worker calls Foreman with the proxy's certificate, and whatever
  // reached its queue (another ingress version, a forged message) is not taken on trust.
  const clientHeaders = foremanHeaders(request.kind, request.headers);
  if (request.kind === 'register') {
    const url = settings.registrationUrl ?? request.ingressBaseUrl;
    // A form body carries the parameters itself: only `url` goes into the query.
    const query = request.method === 'POST' && mediaType(request.headers) === FORM_TYPE ? [] : request.query.filter(([key]) => key !== 'url');
    return { method: request.method, path: '/register', query: [...query, ['url', url]], headers: clientHeaders, body, timeoutMs };
  }
  const url = settings.templateUrl ?? request.ingressBaseUrl;
  const query = request.query.filter(([key]) => !TEMPLATE_QUERY_BLOCKLIST.has(key));
  // Set, never appended to: Foreman finds the host by the first address, and a client's own
  // X-Forwarded-For would let it fetch another host's templates and user-data.
  const headers = { ...clientHeaders, 'x-forwarded-for': request.clientAddress, ...(request.method === 'POST' ? { 'content-type': 'text/plain' } : {}) };
  return { method: request.method, path: templatePath(request), query: [...query, ['url', url]], headers, body, timeoutMs };
}
