// What JSON.stringify of the report will weigh, counted without building it. Foreman's report
// repeats a rule's metadata and fix texts in every log that names the rule, and fix texts expand
// every `<sub idref>` to its set-value, so the JSON can be many thousand times the XML: it is
// bounded while it is built, before the strings exist.
import type { FixMeta, RuleMeta } from './arf-types.ts';

const isLowSurrogate = (code: number): boolean => code >= 0xdc00 && code <= 0xdfff;

/** UTF-8 bytes of `text` inside a JSON string (quotes not counted), escapes included. */
export function jsonStringContentBytes(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i += 1) {
    const code = text.charCodeAt(i);
    if (code === 0x22 || code === 0x5c) bytes += 2;
    else if (code < 0x20) bytes += code === 8 || code === 9 || code === 10 || code === 12 || code === 13 ? 2 : 6;
    else if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && isLowSurrogate(text.charCodeAt(i + 1))) {
      bytes += 4;
      i += 1;
    } else if (code >= 0xd800 && code <= 0xdfff) bytes += 6; // a lone surrogate is written as \udxxx
    else bytes += 3;
  }
  return bytes;
}

/**
 * Sizes of the parts of a report, each measured once: a rule named by a thousand rule results,
 * or a set-value substituted a thousand times, costs one count.
 */
export class ReportSizer {
  readonly #setValues: ReadonlyMap<string | null, string>;
  readonly #setValueBytes = new Map<string | null, number>();
  readonly #ruleBytes = new Map<RuleMeta, number>();

  constructor(setValues: ReadonlyMap<string | null, string>) {
    this.#setValues = setValues;
  }

  /** Bytes of one log: the rule's share (counted once per rule) plus its source and result. */
  logBytes(source: string, result: string, rule: RuleMeta, references: unknown): number {
    let ruleBytes = this.#ruleBytes.get(rule);
    if (ruleBytes === undefined) {
      ruleBytes = this.#measureRule(rule, references);
      this.#ruleBytes.set(rule, ruleBytes);
    }
    return ruleBytes + jsonStringContentBytes(source) + jsonStringContentBytes(result);
  }

  /** The log with empty source, result and fix texts is small (its strings are the XML's own);
   * the fix texts, which substitution can make huge, are counted from their parts. */
  #measureRule(rule: RuleMeta, references: unknown): number {
    const skeleton = {
      source: '', result: '', title: rule.title, description: rule.description ?? '', rationale: rule.rationale ?? '',
      references, fixes: rule.fixes.map((fix) => ({ id: fix.id, system: fix.system, full_text: '', reboot: fix.reboot })), severity: rule.severity,
    };
    let bytes = Buffer.byteLength(JSON.stringify(skeleton));
    for (const fix of rule.fixes) bytes += this.#fixTextBytes(fix);
    return bytes;
  }

  /** A surrogate pair split across two parts is counted as two escapes: a few bytes over, never under. */
  #fixTextBytes(fix: FixMeta): number {
    let bytes = 0;
    for (const part of fix.parts) bytes += typeof part === 'string' ? jsonStringContentBytes(part) : this.#setValueSize(part.sub);
    return bytes;
  }

  #setValueSize(id: string | null): number {
    let bytes = this.#setValueBytes.get(id);
    if (bytes === undefined) {
      bytes = jsonStringContentBytes(this.#setValues.get(id) ?? '');
      this.#setValueBytes.set(id, bytes);
    }
    return bytes;
  }
}
