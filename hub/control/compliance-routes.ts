/**
 * smart_proxy_openscap's Foreman-facing routes on the control listener: download a stored ARF
 * report as bzip2 XML or rendered HTML, delete it, and count failed reports. The smart-proxy lets
 * any client certificate call the download and delete routes (they match its client-path
 * exemption); here they also need trusted_hosts, since only Foreman calls them.
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { ProxyhubError } from '../../contracts/errors.ts';
import { checkRef, type ArfReportRef, type ArfStore } from '../storage/arf-store.ts';
import type { DeadLetterService } from './dead-letters.ts';
import { renderArfHtml } from './oscap-html.ts';

export interface ComplianceControlOptions {
  readonly store: ArfStore;
  readonly deadLetters: DeadLetterService;
  readonly oscapPath: string;
}

const protectedRoute = { identity: 'required', trustedHosts: true } as const;
type RefParams = { Params: ArfReportRef };

const refOf = (request: FastifyRequest<RefParams>): ArfReportRef =>
  checkRef({ id: request.params.id, cname: request.params.cname, date: request.params.date, digest: request.params.digest });

const notStored = (ref: ArfReportRef): ProxyhubError =>
  new ProxyhubError('PROXYHUB_ARF_NOT_FOUND', `no stored ARF report ${ref.id} of ${ref.cname} at ${ref.date} with digest ${ref.digest}`);

export const complianceControlRoutes: FastifyPluginAsync<ComplianceControlOptions> = async (app, options) => {
  const base = '/compliance/arf/:id/:cname/:date/:digest';

  app.get<RefParams>(`${base}/xml`, { config: protectedRoute }, async (request, reply) => {
    const ref = refOf(request);
    const stored = await options.store.open(ref);
    if (!stored) throw notStored(ref);
    return reply.type('application/x-bzip2').header('content-length', stored.size).send(stored.stream);
  });

  app.get<RefParams>(`${base}/html`, { config: protectedRoute }, async (request, reply) => {
    const ref = refOf(request);
    const stored = await options.store.open(ref);
    if (!stored) throw notStored(ref);
    stored.stream.destroy();
    const html = await renderArfHtml(options.store.blobPath(ref), options.oscapPath);
    return reply.type('text/html; charset=utf-8').send(html);
  });

  app.delete<RefParams>(base, { config: protectedRoute }, async (request) => {
    // Deleting what is not there succeeds, as in the smart-proxy ("assuming deleted").
    return { deleted: await options.store.remove(refOf(request)) };
  });

  // The smart-proxy counts reports it could not parse; here every dead-lettered report counts
  // (unparseable, refused by Foreman, or out of retries), and each can be inspected and replayed.
  app.get('/compliance/spool_errors', { config: protectedRoute }, async () => ({ errors_count: await options.deadLetters.count('openscap') }));
};
