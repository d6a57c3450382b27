// SAX-event state machine that keeps only what the Foreman report needs:
// per-rule metadata from the first XCCDF Benchmark, and rule-results,
// set-values and score from the first TestResult. Everything else in the
// ARF (OVAL results, the data stream's checks, system info) is skipped, so
// retained memory is bounded by the number of rules, not the document size.
//
// Selection rules mirror openscap_parser 1.0.2 as used by smart_proxy_openscap
// (namespaces ignored): rules are every Rule below the Benchmark; title,
// description and rationale are the first such element anywhere below the
// Rule, with all descendant text; references are direct children; fixes are
// every fix below the Rule; rule-results, set-values and score are direct
// children of the TestResult.
import type { FixMeta, RuleMeta, RuleResultRecord } from './arf-types.ts';
import { attr, detach, localName, newlineToWhitespace, rubyToF } from './arf-text.ts';

type Phase = 'before' | 'inside' | 'done';

/** The elements whose attributes open() reads (by local name); wantsAttributes() answers from it. */
const ELEMENTS_WITH_READ_ATTRIBUTES: ReadonlySet<string> = new Set(['Rule', 'reference', 'fix', 'sub', 'rule-result', 'set-value']);
type RuleTextField = 'title' | 'description' | 'rationale';

interface Capture {
  readonly depth: number;
  readonly parts: string[];
  readonly done: (text: string) => void;
}

interface OpenRule {
  readonly id: string | null;
  readonly depth: number;
  readonly meta: RuleMeta;
  readonly started: Set<RuleTextField>;
}

interface OpenRuleResult {
  readonly id: string | null;
  readonly depth: number;
  result: string | null;
  resultStarted: boolean;
}

export class ArfCollector {
  readonly rules = new Map<string | null, RuleMeta>();
  /** First set-value wins, like a linear find over the TestResult. */
  readonly setValues = new Map<string | null, string>();
  readonly ruleResults: RuleResultRecord[] = [];
  score: number | null = null;
  sawTestResult = false;

  private depth = 0;
  private benchmark: Phase = 'before';
  private benchmarkDepth = 0;
  private testResult: Phase = 'before';
  private testResultDepth = 0;
  private rule: OpenRule | null = null;
  private fix: { readonly depth: number; readonly meta: FixMeta } | null = null;
  private ruleResult: OpenRuleResult | null = null;
  private scoreStarted = false;
  /** A set-value whose first child node has not been seen yet: the value is
   * that node's text only (a <sub> is replaced by exactly that node). */
  private pendingSetValue: { readonly id: string | null; readonly depth: number } | null = null;
  private captures: Capture[] = [];

  open(name: string, attributes: Record<string, string>): void {
    const pending = this.pendingSetValue;
    if (pending !== null && this.depth === pending.depth) {
      this.pendingSetValue = null;
      this.capture(this.depth + 1, (text) => this.setValue(pending.id, text));
    }
    this.depth += 1;
    const depth = this.depth;
    const local = localName(name);

    if (this.fix !== null && depth === this.fix.depth + 1) {
      const parts = this.fix.meta.parts;
      if (local === 'sub') {
        parts.push({ sub: attr(attributes, 'idref') });
      } else {
        // Any other child element contributes its whole text content.
        const index = parts.push('') - 1;
        this.capture(depth, (text) => { parts[index] = text; });
      }
    }

    if (this.benchmark === 'before' && local === 'Benchmark') {
      this.benchmark = 'inside';
      this.benchmarkDepth = depth;
    } else if (this.benchmark === 'inside') {
      this.openInBenchmark(local, attributes, depth);
    }

    if (this.testResult === 'before' && local === 'TestResult') {
      this.testResult = 'inside';
      this.testResultDepth = depth;
      this.sawTestResult = true;
    } else if (this.testResult === 'inside') {
      this.openInTestResult(local, attributes, depth);
    }
  }

  /** Character data and CDATA sections (both count as text content). */
  text(text: string): void {
    this.firstChildText(text);
    if (this.fix !== null && this.depth === this.fix.depth) this.fix.meta.parts.push(detach(text));
    for (const capture of this.captures) capture.parts.push(text);
  }

  /** Whether open() reads this element's attributes: every attr() call below is for one of these. */
  wantsAttributes(name: string): boolean {
    return ELEMENTS_WITH_READ_ATTRIBUTES.has(localName(name));
  }

  /** Whether text() here would do anything: what it reads is exactly this. */
  wantsText(): boolean {
    const pending = this.pendingSetValue;
    return this.captures.length > 0 || (this.fix !== null && this.depth === this.fix.depth) || (pending !== null && this.depth === pending.depth);
  }

  /** Comments and processing instructions: not part of an element's text,
   * but a fix's or set-value's own child node of that kind is its text. */
  otherNode(text: string): void {
    this.firstChildText(text);
    if (this.fix !== null && this.depth === this.fix.depth) this.fix.meta.parts.push(detach(text));
  }

  close(): void {
    const depth = this.depth;
    this.firstChildText('');
    if (this.captures.length > 0) this.finishCaptures(depth);
    if (this.fix !== null && depth === this.fix.depth) this.fix = null;
    if (this.rule !== null && depth === this.rule.depth) {
      this.rules.set(this.rule.id, this.rule.meta);
      this.rule = null;
    }
    if (this.benchmark === 'inside' && depth === this.benchmarkDepth) this.benchmark = 'done';
    if (this.ruleResult !== null && depth === this.ruleResult.depth) {
      const { id, result } = this.ruleResult;
      this.ruleResults.push({ id: id ?? '', result: result ?? '' });
      this.ruleResult = null;
    }
    if (this.testResult === 'inside' && depth === this.testResultDepth) this.testResult = 'done';
    this.depth -= 1;
  }

  private openInBenchmark(local: string, attributes: Record<string, string>, depth: number): void {
    if (this.rule === null) {
      if (local === 'Rule') {
        this.rule = {
          id: attr(attributes, 'id'),
          depth,
          started: new Set(),
          meta: {
            title: null, description: null, rationale: null,
            severity: attr(attributes, 'severity'), references: [], fixes: [],
          },
        };
      }
      return;
    }
    const rule = this.rule;
    if ((local === 'title' || local === 'description' || local === 'rationale') && !rule.started.has(local)) {
      rule.started.add(local);
      this.capture(depth, (text) => {
        rule.meta[local] = local === 'title' ? text : newlineToWhitespace(text);
      });
    } else if (local === 'reference' && depth === rule.depth + 1) {
      const reference = { href: attr(attributes, 'href'), title: '' };
      rule.meta.references.push(reference);
      this.capture(depth, (text) => { reference.title = text; });
    } else if (local === 'fix' && this.fix === null) {
      const meta: FixMeta = {
        id: attr(attributes, 'id'),
        system: attr(attributes, 'system'),
        reboot: attr(attributes, 'reboot'),
        parts: [],
      };
      rule.meta.fixes.push(meta);
      this.fix = { depth, meta };
    }
  }

  private openInTestResult(local: string, attributes: Record<string, string>, depth: number): void {
    if (depth === this.testResultDepth + 1) {
      if (local === 'rule-result') {
        this.ruleResult = { id: attr(attributes, 'idref'), depth, result: null, resultStarted: false };
      } else if (local === 'set-value') {
        this.pendingSetValue = { id: attr(attributes, 'idref'), depth };
      } else if (local === 'score' && !this.scoreStarted) {
        this.scoreStarted = true;
        this.capture(depth, (text) => { this.score = rubyToF(text); });
      }
      return;
    }
    const ruleResult = this.ruleResult;
    if (ruleResult !== null && depth === ruleResult.depth + 1 && local === 'result' && !ruleResult.resultStarted) {
      ruleResult.resultStarted = true;
      this.capture(depth, (text) => { ruleResult.result = text; });
    }
  }

  private firstChildText(text: string): void {
    const pending = this.pendingSetValue;
    if (pending !== null && this.depth === pending.depth) {
      this.pendingSetValue = null;
      this.setValue(pending.id, text);
    }
  }

  private setValue(id: string | null, text: string): void {
    if (!this.setValues.has(id)) this.setValues.set(id, detach(text));
  }

  private capture(depth: number, done: (text: string) => void): void {
    this.captures.push({ depth, parts: [], done });
  }

  private finishCaptures(depth: number): void {
    const still: Capture[] = [];
    for (const capture of this.captures) {
      if (capture.depth === depth) capture.done(detach(capture.parts.join('')));
      else still.push(capture);
    }
    this.captures = still;
  }
}
