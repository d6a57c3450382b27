/**
 * One ARF upload → the JSON body Foreman's arf_reports API takes, with the parser's failures as
 * catalog errors (dead-lettered with their reason). Runs in a parse thread (arf-parse-thread.ts)
 * or, with PROXYHUB_PARSE_THREADS=0, on the worker's own thread.
 */
import { parseArf } from './arf-parser.ts';

export interface ArfJobContext {
  readonly proxyName: string;
  /** The smart-proxy's registered_proxy_url; Foreman finds the proxy by it (null: by the host). */
  readonly proxyUrl: string | null;
  /** Largest report JSON built for Foreman. @defaultValue MAX_ARF_REPORT_BYTES (64 MiB) */
  readonly maxReportBytes?: number | undefined;
}

export type ArfBody = Iterable<Buffer> | AsyncIterable<Buffer>;

/** Rejects with the parser's catalog errors (PROXYHUB_ARF_UNPARSEABLE, PROXYHUB_ARF_REPORT_TOO_LARGE): dead-lettered at once. */
export async function arfForemanJson(body: ArfBody, context: ArfJobContext): Promise<string> {
  const report = await parseArf(body as AsyncIterable<Buffer>, { proxyName: context.proxyName, proxyUrl: context.proxyUrl }, context.maxReportBytes === undefined ? {} : { maxReportBytes: context.maxReportBytes });
  return JSON.stringify(report);
}
