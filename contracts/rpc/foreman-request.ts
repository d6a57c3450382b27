/**
 * Request/reply over the broker for the routes the smart-proxy proxies synchronously to Foreman
 * (registration, templates, cloud-init userdata): the ingress describes the HTTP call, the
 * registration worker makes it with its own credentials and replies with Foreman's answer. The
 * ingress never learns a Foreman URL or credential.
 */
import { z } from 'zod';
import { errorCatalog } from '../errors.ts';

export const foremanRequestKinds = ['register', 'unattended', 'userdata', 'template-server'] as const;
export type ForemanRequestKind = (typeof foremanRequestKinds)[number];

export const foremanRequestSchema = z.object({
  kind: z.enum(foremanRequestKinds),
  method: z.enum(['GET', 'POST']),
  /** Foreman path, already built from the client's path (e.g. `/unattended/provision`). */
  path: z.string().startsWith('/').max(2048),
  /** Query parameters to pass on, before the worker adds `url=`. Repeated keys keep every value. */
  query: z.array(z.tuple([z.string(), z.string()])).max(500),
  /** Client headers to pass on: only those `foremanHeaders` (foreman-headers.ts) allows for the kind. */
  headers: z.record(z.string(), z.string()),
  /** Base64 of the request body, when there is one. */
  body: z.string().optional(),
  /** The client's address, for X-Forwarded-For on template requests. */
  clientAddress: z.string(),
  /** Where the client reached the ingress (scheme://host:port), the smart-proxy's fallback for `url=`. */
  ingressBaseUrl: z.string(),
  /** How long the ingress waits; the worker gives Foreman a little less, so the reply can arrive. */
  timeoutMs: z.number().int().positive(),
  /** Epoch ms when the ingress gives up: a request picked up late must not still act on Foreman. */
  deadline: z.number().int().positive(),
});
export type ForemanRequest = z.infer<typeof foremanRequestSchema>;

const errorCodes = Object.keys(errorCatalog) as [keyof typeof errorCatalog, ...(keyof typeof errorCatalog)[]];

export const foremanReplySchema = z.union([
  z.object({
    /** Foreman answered: its status, media type and body (base64), passed through. */
    status: z.number().int(),
    contentType: z.string().optional(),
    /** Foreman's Location, for a redirect passed on. */
    location: z.string().optional(),
    body: z.string(),
  }),
  z.object({
    /** Foreman could not be asked (down, timed out): what went wrong, for the client's answer. */
    error: z.enum(errorCodes),
    detail: z.string().max(2000),
  }),
]);
export type ForemanReply = z.infer<typeof foremanReplySchema>;

export const FOREMAN_REQUEST_TYPE = 'foreman.request.v1';
export const FOREMAN_REPLY_TYPE = 'foreman.reply.v1';
