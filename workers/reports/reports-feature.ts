/**
 * Config reports: converted to Foreman's host_report shape and posted to `/api/v2/host_reports`.
 * Facts found in an Ansible report become their own `facts.uploaded.v1` event (with an id
 * derived from the report's, so a retried report does not upload its facts twice) and travel
 * through the facts queue with its retries and dead letters.
 */
import { createHash } from 'node:crypto';
import { ProxyhubError, isProxyhubError } from '../../contracts/errors.ts';
import { createEvent } from '../../contracts/events/create-event.ts';
import type { ReportUpload } from '../../contracts/events/report-uploaded.ts';
import { defineFeature } from '../runtime/feature.ts';
import { ansibleFactsFromReport, ansibleReportToHostReport } from './ansible-report.ts';
import { serializeHostReport, type HostReport, type ReportContext } from './host-report.ts';
import { puppetReportToHostReport } from './puppet-report.ts';

export const FOREMAN_HOST_REPORTS_PATH = '/api/v2/host_reports';

function convert(upload: ReportUpload, context: ReportContext): HostReport {
  try {
    return upload.format === 'puppet' ? puppetReportToHostReport(upload.report, context) : ansibleReportToHostReport(upload.report, context);
  } catch (error) {
    if (!isProxyhubError(error) || error.code !== 'PROXYHUB_EVENT_INVALID') throw error;
    // The reason names the format and the field's place in the event (`report.host`).
    throw new ProxyhubError('PROXYHUB_EVENT_INVALID', `${upload.format} report: ${error.message}`, { cause: error, ...(error.field ? { field: `report.${error.field}` } : {}) });
  }
}

/** A stable UUID-shaped id for the facts event derived from a report event. */
export function derivedFactsEventId(reportEventId: string): string {
  const hex = createHash('sha256').update(`facts-of:${reportEventId}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export const reportsFeature = defineFeature('reports', {
  'report.uploaded.v1': async (event, context) => {
    const upload = event.data;
    const hostReport = convert(upload, { proxy: context.proxyName, reportedAtProxy: event.time, id: event.id });
    if (upload.format === 'ansible') {
      const facts = ansibleFactsFromReport(upload.report);
      if (facts) {
        await context.publishEvent(
          createEvent('facts.uploaded.v1', facts, { id: derivedFactsEventId(event.id), source: context.source, subject: facts.name, ...(event.traceparent ? { traceparent: event.traceparent } : {}) }),
        );
      }
    }
    await context.foreman.post(FOREMAN_HOST_REPORTS_PATH, serializeHostReport(hostReport, upload.jsonBody));
  },
});
