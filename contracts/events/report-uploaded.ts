import { z } from 'zod';

export const reportFormats = ['puppet', 'ansible'] as const;
export type ReportFormat = (typeof reportFormats)[number];

/**
 * A config report as smart_proxy_reports clients send it (Puppet's report YAML, parsed, or the
 * Ansible callback's JSON). The ingress checks only what every later step needs; the reports
 * worker converts it to Foreman's host_report shape.
 */
export const uploadedReportSchema = z.looseObject({
  host: z.string().trim().min(1).max(255),
});

export const reportUploadSchema = z.object({
  format: z.enum(reportFormats),
  report: uploadedReportSchema,
  /** smart_proxy_reports' `?json_body=`: Foreman gets the report body as a JSON string unless false. */
  jsonBody: z.boolean().default(true),
});

export type ReportUpload = z.infer<typeof reportUploadSchema>;

export const reportUploadedV1 = {
  type: 'report.uploaded.v1',
  data: reportUploadSchema,
} as const;
