// Text helpers that reproduce the Ruby behaviour openscap_parser relies on,
// so our output is byte-identical to what smart_proxy_openscap sends.

/** Ruby String#strip whitespace: NUL, \t, \n, \v, \f, \r and space only
 * (JS trim() would also eat NBSP and other Unicode spaces). */
const RUBY_STRIP = /^[\0\t\n\v\f\r ]+|[\0\t\n\v\f\r ]+$/g;

/** openscap_parser folds "spaces then newlines" into one space and strips;
 * other whitespace (tabs, indentation after a newline) is kept as is. */
export function newlineToWhitespace(text: string): string {
  return text.replace(/ *\n+/g, ' ').replace(RUBY_STRIP, '');
}

/** Ruby String#to_f: leading numeric prefix, 0.0 when there is none. */
export function rubyToF(text: string): number {
  const match = /^[\t\n\v\f\r ]*([+-]?(?:\d[\d_]*)?(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(text);
  const value = Number.parseFloat((match?.[1] ?? '').replaceAll('_', ''));
  return Number.isFinite(value) ? value : 0;
}

/** Namespaces are ignored (openscap_parser calls remove_namespaces!). */
export function localName(qname: string): string {
  const colon = qname.indexOf(':');
  return colon === -1 ? qname : qname.slice(colon + 1);
}

/** Attribute lookup by local name, as after remove_namespaces!. */
export function attr(attributes: Record<string, string>, name: string): string | null {
  const direct = attributes[name];
  if (direct !== undefined) return detach(direct);
  for (const [key, value] of Object.entries(attributes)) {
    if (localName(key) === name) return detach(value);
  }
  return null;
}

/** Copies a string so it stops pointing into the parser's input chunk: V8
 * keeps substrings as slices of their parent, so a short id or title kept
 * from a 64 KiB chunk would otherwise keep the whole chunk alive. */
export function detach(text: string): string {
  return text.length < 13 ? text : (' ' + text).slice(1);
}
