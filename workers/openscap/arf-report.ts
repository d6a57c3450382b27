// Turns what the collector kept into the JSON body smart_proxy_openscap
// POSTs to Foreman, with its counting rules.
import type { ArfCollector } from './arf-collector.ts';
import type { ArfContext, ArfFix, ArfLog, ArfReference, ArfReport, FixMeta, RuleMeta } from './arf-types.ts';
import { arfReportTooLarge, arfUnparseable } from './arf-errors.ts';
import { ReportSizer } from './arf-json-size.ts';

/** Results Foreman never sees: they are neither listed nor counted. */
const DROPPED_RESULTS = new Set(['notapplicable', 'notselected']);

/**
 * The largest fixture (68 reported rules) builds 85 KiB of JSON; a benchmark of 1,500 rules at that
 * rate is about 2 MiB, so this leaves a wide margin for long fix texts.
 */
export const MAX_ARF_REPORT_BYTES = 64 * 1024 * 1024;

/**
 * Builds the report, refusing it (PROXYHUB_ARF_REPORT_TOO_LARGE) as soon as the logs so far would pass
 * `maxBytes` of JSON: each log is counted before it is built, so an ARF that expands into
 * gigabytes never allocates more than the bound.
 */
export function buildReport(collected: ArfCollector, digest: string, context: ArfContext, maxBytes = MAX_ARF_REPORT_BYTES): ArfReport {
  const sizer = new ReportSizer(collected.setValues);
  const shared = new Map<RuleMeta, { references: ArfReference[]; fixes: ArfFix[] | null }>();
  const logs: ArfLog[] = [];
  const metrics = { passed: 0, failed: 0, othered: 0 };
  const report: ArfReport = { logs, digest, metrics, score: collected.score, openscap_proxy_name: context.proxyName, openscap_proxy_url: context.proxyUrl };
  // The envelope with no logs; its metrics only grow by a few digits, checked exactly at the end.
  const envelopeBytes = (): number => Buffer.byteLength(JSON.stringify({ ...report, logs: [] }));
  const emptyEnvelope = envelopeBytes();
  let bytes = emptyEnvelope;
  for (const { id, result } of collected.ruleResults) {
    if (DROPPED_RESULTS.has(result)) continue;
    const rule = collected.rules.get(id);
    if (rule === undefined) {
      // Upstream crashes here (nil rule); a result we cannot describe means
      // the benchmark part of the ARF is missing or does not match.
      throw arfUnparseable(`rule-result ${id} refers to a rule missing from the XCCDF benchmark`);
    }
    let parts = shared.get(rule);
    if (parts === undefined) {
      parts = { references: uniqueReferences(rule.references), fixes: null };
      shared.set(rule, parts);
    }
    bytes += sizer.logBytes(id, result, rule, parts.references) + (logs.length > 0 ? 1 : 0);
    if (bytes > maxBytes) throw arfReportTooLarge(maxBytes);
    // Fix texts are built once per rule and shared by its logs.
    parts.fixes ??= rule.fixes.map((fix) => toFix(fix, collected.setValues));
    logs.push(toLog(id, result, rule, parts.references, parts.fixes));
    if (result === 'pass' || result === 'fixed') metrics.passed += 1;
    else if (result === 'fail') metrics.failed += 1;
    else metrics.othered += 1;
  }
  if (bytes - emptyEnvelope + envelopeBytes() > maxBytes) throw arfReportTooLarge(maxBytes);
  return report;
}

function toLog(id: string, result: string, rule: RuleMeta, references: ArfReference[], fixes: ArfFix[]): ArfLog {
  return {
    source: id,
    result,
    title: rule.title,
    description: rule.description ?? '',
    rationale: rule.rationale ?? '',
    references,
    fixes,
    severity: rule.severity,
  };
}

/** Duplicate references (same label and href) are listed once, first kept. */
function uniqueReferences(references: readonly ArfReference[]): ArfReference[] {
  const seen = new Set<string>();
  return references.filter(({ href, title }) => {
    const key = JSON.stringify([title, href]);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** A <sub> with no matching set-value renders as nothing. */
function toFix(fix: FixMeta, setValues: ReadonlyMap<string | null, string>): ArfFix {
  const fullText = fix.parts
    .map((part) => (typeof part === 'string' ? part : setValues.get(part.sub) ?? ''))
    .join('');
  return { id: fix.id, system: fix.system, full_text: fullText, reboot: fix.reboot };
}
