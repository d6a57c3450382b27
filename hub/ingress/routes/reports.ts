/**
 * smart_proxy_reports' upload route: `POST /reports/:format`, Puppet as YAML (the Ruby-tagged
 * report Puppet writes) and Ansible as JSON. Each format takes only its own media type, as
 * smart_proxy_reports does.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ProxyhubError } from '../../../contracts/errors.ts';
import { createEvent } from '../../../contracts/events/create-event.ts';
import { reportFormats, type ReportFormat } from '../../../contracts/events/report-uploaded.ts';
import { acceptEvent, type AcceptDependencies } from '../accept-event.ts';
import { assertUploadsFor, type HostBinding } from '../host-binding.ts';
import { refuseContentEncoding } from '../input-shape.ts';
import { createYamlReader, type YamlReader } from '../yaml-reader.ts';
import { validateReport } from '../yaml-report.ts';

export interface ReportRouteOptions extends AcceptDependencies {
  readonly source: string;
  readonly bodyLimit: number;
  readonly binding: HostBinding;
  /** Parses YAML bodies (large ones in parse threads). @defaultValue all inline */
  readonly yaml?: YamlReader;
}

const YAML_TYPES = ['application/x-yaml', 'application/yaml', 'text/yaml', 'text/x-yaml'];
const expectedMediaType: Record<ReportFormat, 'yaml' | 'json'> = { puppet: 'yaml', ansible: 'json' };

const paramsSchema = z.object({ format: z.enum(reportFormats) });
const querySchema = z.looseObject({ json_body: z.enum(['true', 'false']).optional() });

function mediaKind(contentType: string | undefined): 'yaml' | 'json' | 'other' {
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (type === 'application/json') return 'json';
  return YAML_TYPES.includes(type) ? 'yaml' : 'other';
}

export const reportRoutes: FastifyPluginAsync<ReportRouteOptions> = async (app, options) => {
  app.addHook('onRequest', refuseContentEncoding);
  // YAML is parsed in the handler, so a syntax error is reported like any other bad input.
  app.addContentTypeParser(YAML_TYPES, { parseAs: 'string', bodyLimit: options.bodyLimit }, (_request, body, done) => done(null, body));
  const yaml = options.yaml ?? createYamlReader(undefined);
  app.withTypeProvider<ZodTypeProvider>().post('/reports/:format', { bodyLimit: options.bodyLimit, schema: { params: paramsSchema, querystring: querySchema }, config: { identity: 'required' } }, async (request, reply) => {
    const { format } = request.params;
    const kind = mediaKind(request.headers['content-type']);
    if (kind !== expectedMediaType[format]) {
      const wanted = expectedMediaType[format] === 'yaml' ? 'application/x-yaml' : 'application/json';
      throw new ProxyhubError('PROXYHUB_INPUT_MEDIA_TYPE', `${format} reports must be sent as ${wanted}`, { field: 'content-type', location: 'headers' });
    }
    const report = kind === 'json' ? validateReport(request.body) : await yaml.read(request.body as string);
    // Facts gathered in an Ansible report are filed under the same host (workers/reports).
    assertUploadsFor(request, options.binding, report.host, 'host');
    const envelope = createEvent('report.uploaded.v1', { format, report, jsonBody: request.query.json_body !== 'false' }, { source: options.source, subject: report.host, clientcn: request.clientIdentity?.cn, traceparent: request.traceparent });
    return acceptEvent(reply, options, envelope);
  });
};
