// Turns what the collector kept into the JSON body smart_proxy_openscap
// POSTs to Foreman, with its counting rules.
import type { ArfCollector } from './arf-collector.ts';
import type { ArfContext, ArfFix, ArfLog, ArfReference, ArfReport, FixMeta, RuleMeta } from './arf-types.ts';
import { ArfParseError } from './arf-errors.ts';

/** Results Foreman never sees: they are neither listed nor counted. */
const DROPPED_RESULTS = new Set(['notapplicable', 'notselected']);

export function buildReport(collected: ArfCollector, digest: string, context: ArfContext): ArfReport {
  const logs: ArfLog[] = [];
  const metrics = { passed: 0, failed: 0, othered: 0 };
  for (const { id, result } of collected.ruleResults) {
    if (DROPPED_RESULTS.has(result)) continue;
    const rule = collected.rules.get(id);
    if (rule === undefined) {
      // Upstream crashes here (nil rule); a result we cannot describe means
      // the benchmark part of the ARF is missing or does not match.
      throw new ArfParseError(`rule-result ${id} refers to a rule missing from the XCCDF benchmark`);
    }
    logs.push(toLog(id, result, rule, collected.setValues));
    if (result === 'pass' || result === 'fixed') metrics.passed += 1;
    else if (result === 'fail') metrics.failed += 1;
    else metrics.othered += 1;
  }
  return {
    logs,
    digest,
    metrics,
    score: collected.score,
    openscap_proxy_name: context.proxyName,
    openscap_proxy_url: context.proxyUrl,
  };
}

function toLog(id: string, result: string, rule: RuleMeta, setValues: ReadonlyMap<string | null, string>): ArfLog {
  return {
    source: id,
    result,
    title: rule.title,
    description: rule.description ?? '',
    rationale: rule.rationale ?? '',
    references: uniqueReferences(rule.references),
    fixes: rule.fixes.map((fix) => toFix(fix, setValues)),
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
