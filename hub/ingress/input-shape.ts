/**
 * Limits on the shape of an upload that body-size limits do not catch: nesting that would
 * overflow the stack when the event is serialized, and YAML whose flow collections (`[…]`,
 * `{…}`) would make the YAML parser take seconds and gigabytes. Puppet writes block-style YAML,
 * so real reports never come near these bounds.
 */
import { ProxyhubError } from '../../contracts/errors.ts';

/** Facts and reports nest a dozen levels; 64 leaves room and stays far below the stack. */
export const MAX_NESTING = 64;
/** Flow-collection items in one YAML document. */
export const MAX_YAML_FLOW_ITEMS = 10_000;

/** Throws a 400 when `value` nests deeper than `MAX_NESTING` (walks without recursion). */
export function assertNesting(value: unknown, field = 'body'): void {
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop() as [unknown, number];
    if (typeof node !== 'object' || node === null) continue;
    if (depth >= MAX_NESTING) throw new ProxyhubError('PROXYHUB_INPUT_INVALID', `${field} nests deeper than ${MAX_NESTING} levels`, { field });
    for (const child of Object.values(node)) if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
  }
}

/**
 * A linear pre-scan of YAML text, before the parser sees it: counts flow-collection depth and
 * items outside quoted scalars and comments. A `[` or `{` opens a flow collection only where a
 * value starts (after `:`, `-`, `,`, `?`, another opener, or indentation), as in YAML itself.
 */
export function assertYamlFlowBounds(text: string): void {
  let depth = 0;
  let items = 0;
  let quote: '"' | "'" | undefined;
  let previous = '\n';
  for (let i = 0; i < text.length; i += 1) {
    const char = text[i] as string;
    if (quote) {
      if (char === quote && !(quote === '"' && text[i - 1] === '\\')) quote = undefined;
      continue;
    }
    if (char === '#' && (previous === ' ' || previous === '\n')) {
      while (i < text.length && text[i] !== '\n') i += 1;
      previous = '\n';
      continue;
    }
    if ((char === '"' || char === "'") && (depth > 0 || ':- \n[{,?'.includes(previous))) quote = char;
    else if ((char === '[' || char === '{') && (depth > 0 || ':- \n?'.includes(previous))) {
      depth += 1;
      if (depth > MAX_NESTING) throw new ProxyhubError('PROXYHUB_INPUT_INVALID', `report YAML nests flow collections deeper than ${MAX_NESTING}`, { field: 'body' });
    } else if ((char === ']' || char === '}') && depth > 0) depth -= 1;
    else if (char === ',' && depth > 0 && ++items > MAX_YAML_FLOW_ITEMS) {
      throw new ProxyhubError('PROXYHUB_INPUT_INVALID', `report YAML has more than ${MAX_YAML_FLOW_ITEMS} flow-collection items`, { field: 'body' });
    }
    if (char !== ' ' && char !== '\t') previous = char;
    else if (previous !== '\n') previous = ' ';
  }
}

/**
 * Facts and reports arrive uncompressed from every real client. A body labelled with another
 * Content-Encoding would otherwise be parsed as if it were plain, so it is refused (415).
 */
export function refuseContentEncoding(request: { headers: Record<string, string | string[] | undefined> }, _reply: unknown, done: (error?: Error) => void): void {
  const encoding = request.headers['content-encoding'];
  if (encoding === undefined || encoding === '' || encoding === 'identity') return done();
  done(new ProxyhubError('PROXYHUB_INPUT_MEDIA_TYPE', `Content-Encoding ${String(encoding)} is not accepted on this route`, { field: 'content-encoding', location: 'headers' }));
}
