import { isAlias, isScalar, isSeq, parseDocument, visit } from 'yaml';
import type { Document, Node, ScalarTag, Tags } from 'yaml';
import { ProxyhubError, errorMessage } from '../../contracts/errors.ts';

/**
 * An upload that is not YAML we can read: a 400 naming the body (upstream smart_proxy_reports
 * answers 415 for every processing error).
 */
const notYaml = (reason: string, cause: unknown): ProxyhubError =>
  new ProxyhubError('PROXYHUB_INPUT_MALFORMED', `report is not valid YAML: ${reason}`, { cause, field: 'body' });

/**
 * Alias expansion budget handed to `yaml`'s toJS. Puppet's Psych dumper only emits aliases for
 * objects referenced twice, so a report needs few; the cap stops "billion laughs" payloads.
 * @defaultValue 100
 */
export const MAX_ALIAS_COUNT = 100;

/**
 * How far aliases may grow a report: its JSON, the form the event carries, at most this many times
 * the YAML it came from (plus EXPANSION_ALLOWANCE_BYTES for small bodies). MAX_ALIAS_COUNT bounds
 * the aliases of each anchor, not their sum: a body of many anchors, each aliased 99 times, parses
 * into a small graph of shared objects that JSON.stringify would write out ~100 times over (an
 * 8 MiB upload, close to a gigabyte on the ingress's loop). Psych aliases only an object a report
 * holds twice, so a real report grows little.
 */
export const MAX_ALIAS_EXPANSION = 4;
const EXPANSION_ALLOWANCE_BYTES = 64 * 1024;

const tooExpanded = (limit: number): ProxyhubError =>
  new ProxyhubError('PROXYHUB_INPUT_TOO_LARGE', `report's YAML aliases expand it past ${limit} bytes of JSON (${MAX_ALIAS_EXPANSION} × the body + ${EXPANSION_ALLOWANCE_BYTES / 1024} KiB)`, { field: 'body' });

/** A string's length as JSON, in bytes: escapes (`\u0000` is six) and UTF-8 counted. */
function jsonStringBytes(value: string): number {
  // Printable ASCII without `"` and `\` is written as it is.
  return /^[\u0020-\u0021\u0023-\u005b\u005d-\u007e]*$/.test(value) ? value.length + 2 : Buffer.byteLength(JSON.stringify(value));
}

const isMergeKey = (key: unknown): boolean => isScalar(key) && (key.value === '<<' || (typeof key.value === 'symbol' && key.value.description === '<<'));

/**
 * The source text a document's merge keys (`<<: *anchor`) copy, counted on the parsed nodes before
 * any object is built: unlike a plain alias, which `toJS` resolves to one shared object, every
 * merge builds a fresh copy of its source (a merge inside a merged map copies again), so a body of
 * many anchors, each merged up to the alias cap, would allocate its whole expansion in `toJS`.
 */
function mergedBytesWithin(doc: Document, limit: number): void {
  const known = new Map<Node, number>();
  const open = new Set<Node>();
  const sizeOf = (node: Node): number => {
    const seen = known.get(node);
    if (seen !== undefined) return seen;
    if (open.has(node)) throw notYaml('a merge key refers to a map that holds it', undefined);
    open.add(node);
    let total = node.range ? node.range[2] - node.range[0] : 0;
    visit(node, {
      Pair: (_key, pair) => {
        if (!isMergeKey(pair.key)) return undefined;
        const sources = isSeq(pair.value) ? pair.value.items : [pair.value];
        for (const source of sources) {
          const target = isAlias(source) ? source.resolve(doc) : undefined;
          if (target !== undefined) total += sizeOf(target);
          if (total > limit) throw tooExpanded(limit);
        }
        return undefined;
      },
    });
    open.delete(node);
    known.set(node, total);
    return total;
  };
  if (doc.contents !== null) sizeOf(doc.contents);
}

/**
 * The length of `value` as JSON, counted without writing it: each shared object once, then added
 * for every reference (so O(distinct objects)), stopping as soon as `limit` is passed. An object
 * that holds itself (`&a [*a]`) could never be written as JSON at all.
 */
function jsonLengthWithin(root: unknown, limit: number): number {
  const known = new WeakMap<object, number>();
  const open = new WeakSet<object>();
  const length = (value: unknown): number => {
    if (typeof value === 'string') return jsonStringBytes(value);
    if (typeof value !== 'object' || value === null) return String(value).length;
    const seen = known.get(value);
    if (seen !== undefined) return seen;
    if (open.has(value)) throw notYaml('an alias refers to a node that holds it', undefined);
    open.add(value);
    let total = 2;
    if (Array.isArray(value)) {
      for (const item of value as unknown[]) {
        total += length(item) + 1;
        if (total > limit) throw tooExpanded(limit);
      }
    } else {
      for (const [key, item] of Object.entries(value)) {
        total += key.length + 4 + length(item);
        if (total > limit) throw tooExpanded(limit);
      }
    }
    open.delete(value);
    known.set(value, total);
    return total;
  };
  return length(root);
}

// YAML 1.1 types that would surface as Date, Set, Map or Uint8Array: reports go on as JSON, so
// their source text is kept instead. YAML 1.1's booleans are swapped for Psych's narrower set.
const DROPPED_TAGS = new Set([
  'tag:yaml.org,2002:timestamp',
  'tag:yaml.org,2002:binary',
  'tag:yaml.org,2002:set',
  'tag:yaml.org,2002:omap',
  'tag:yaml.org,2002:pairs',
  'tag:yaml.org,2002:bool',
]);

// Psych reads a plain `:notice` (and `:"two words"`) as a Ruby Symbol, which Ruby's JSON writes as
// its bare name; older Puppet reports use this form for log levels.
const implicitSymbol: ScalarTag = {
  tag: 'tag:proxyhub,2024:ruby-implicit-symbol',
  default: true,
  test: /^:./,
  identify: () => false,
  resolve: (source) => {
    const quoted = /^:(["'])(.*)\1$/s.exec(source);
    return quoted ? quoted[2] : source.slice(1);
  },
};

// Psych's booleans, case-insensitive; YAML 1.1's `y`/`n` stay strings as they do in Ruby.
const psychBool = (value: boolean, test: RegExp): ScalarTag => ({
  tag: 'tag:yaml.org,2002:bool',
  default: true,
  test,
  identify: (candidate) => candidate === value,
  resolve: () => value,
});

// Explicit symbol tags carry the bare name already. Every other `!ruby/...` tag (object, hash,
// struct...) is left unresolved on purpose: `yaml` then builds the plain map/seq/string
// underneath and records only a warning, and no Ruby class is ever looked up.
const explicitSymbol = (tag: string): ScalarTag => ({
  tag,
  identify: () => false,
  resolve: (source) => source,
});

function rubyTags(defaults: Tags): Tags {
  const kept = defaults.filter((tag) => typeof tag === 'string' || !DROPPED_TAGS.has(tag.tag));
  return [
    ...kept,
    psychBool(true, /^(?:yes|true|on)$/i),
    psychBool(false, /^(?:no|false|off)$/i),
    implicitSymbol,
    explicitSymbol('!ruby/sym'),
    explicitSymbol('!ruby/symbol'),
  ];
}

/**
 * Parse the YAML Puppet writes for a report (`--- !ruby/object:Puppet::Transaction::Report`)
 * into plain objects, arrays and scalars, reading it the way Ruby's Psych does (YAML 1.1
 * booleans and numbers, duplicate keys allowed with the last one winning, merge keys).
 *
 * @throws ProxyhubError PROXYHUB_INPUT_MALFORMED on syntax errors, several documents, or excessive
 * aliasing; PROXYHUB_INPUT_TOO_LARGE when aliases grow it past MAX_ALIAS_EXPANSION.
 */
export function parseRubyYaml(text: string): unknown {
  const doc = parseDocument(text, {
    version: '1.1',
    customTags: rubyTags,
    resolveKnownTags: false,
    uniqueKeys: false,
    merge: true,
    prettyErrors: true,
  });
  const [first] = doc.errors;
  if (first) {
    throw notYaml(first.message, first);
  }
  let aliased = false;
  visit(doc, {
    Alias: () => {
      aliased = true;
      return visit.BREAK;
    },
  });
  const limit = MAX_ALIAS_EXPANSION * Buffer.byteLength(text) + EXPANSION_ALLOWANCE_BYTES;
  try {
    // Merges first, on the nodes: toJS would build their copies before anything could count them.
    if (aliased) mergedBytesWithin(doc, limit);
    const report: unknown = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    if (aliased) jsonLengthWithin(report, limit);
    return report;
  } catch (error: unknown) {
    if (error instanceof ProxyhubError) throw error;
    // yaml's own alias cap, or a graph nested deeper than the stack (RangeError): bad input either way.
    throw notYaml(errorMessage(error), error);
  }
}
