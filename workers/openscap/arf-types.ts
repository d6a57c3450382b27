// Shapes of the JSON that smart_proxy_openscap POSTs to Foreman
// (`/api/v2/compliance/arf_reports/:cname/:policy_id/:date`), plus the
// intermediate records the streaming collector keeps.

export interface ArfReference {
  href: string | null;
  title: string;
}

export interface ArfFix {
  id: string | null;
  system: string | null;
  full_text: string;
  reboot: string | null;
}

export interface ArfLog {
  source: string;
  result: string;
  title: string | null;
  description: string;
  rationale: string;
  references: ArfReference[];
  fixes: ArfFix[];
  severity: string | null;
}

export interface ArfMetrics {
  passed: number;
  failed: number;
  othered: number;
}

export interface ArfReport {
  logs: ArfLog[];
  digest: string;
  metrics: ArfMetrics;
  score: number | null;
  openscap_proxy_name: string | null;
  openscap_proxy_url: string | null;
}

export interface ArfContext {
  proxyName: string | null;
  proxyUrl: string | null;
}

/** A fix body part: literal text, or a `<sub idref>` resolved against the
 * TestResult's set-values once those have been seen (they come later). */
export type FixPart = string | { readonly sub: string | null };

export interface FixMeta {
  id: string | null;
  system: string | null;
  reboot: string | null;
  parts: FixPart[];
}

export interface RuleMeta {
  title: string | null;
  /** Already whitespace-folded; null when the rule has no such element. */
  description: string | null;
  rationale: string | null;
  severity: string | null;
  references: ArfReference[];
  fixes: FixMeta[];
}

export interface RuleResultRecord {
  id: string;
  result: string;
}

/** What an XML parser tells the collector, in document order (saxes's events, as the collector takes them). */
export interface XmlEvents {
  open(name: string, attributes: Record<string, string>): void;
  /**
   * Whether open() will read this element's attributes (asked before they are parsed): a parser
   * may then check them without building them, and pass an empty object. @defaultValue always true
   */
  wantsAttributes?(name: string): boolean;
  /** Character data (entities resolved, one call per run between markup) and CDATA sections. */
  text(text: string): void;
  /**
   * Whether character data here would change anything (asked before a run of it): a parser may
   * then leave out text() for it. CDATA sections are always sent. @defaultValue always true
   */
  wantsText?(): boolean;
  /** Comments and processing instructions. */
  otherNode(text: string): void;
  close(): void;
}
