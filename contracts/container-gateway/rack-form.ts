/**
 * Rack's nested query parsing (`Rack::QueryParser#normalize_params`), which is how the plugin
 * reads Katello's form-encoded PUT bodies (container-gateway-contract §4.1): `a[]=1` appends,
 * `a[][k]=v` starts a new hash in the list when the last one already has `k`, `a[b]=v` nests.
 * Every leaf is a string, as Rack leaves it; an empty list arrives as a missing key.
 */

export type RackValue = string | RackValue[] | { [key: string]: RackValue };
export type RackParams = { [key: string]: RackValue };

/** Deeper than any Katello body; Rack itself refuses past 32 (`param_depth_limit`). */
const DEPTH_LIMIT = 32;

function isHash(value: RackValue | undefined): value is { [key: string]: RackValue } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Whether `key` (which may itself be nested, `[a][b]`) is set in `hash`, as Rack checks it. */
function hasKey(hash: { [key: string]: RackValue }, key: string): boolean {
  if (key.includes('[]')) return false;
  let current: RackValue = hash;
  for (const part of key.split(/[[\]]+/).filter((p) => p.length > 0)) {
    if (!isHash(current) || !Object.hasOwn(current, part)) return false;
    current = current[part] as RackValue;
  }
  return true;
}

function normalize(params: { [key: string]: RackValue }, name: string, value: string, depth: number): { [key: string]: RackValue } {
  if (depth > DEPTH_LIMIT) throw new RangeError('form parameters nested too deeply');
  const match = /^[[\]]*([^[\]]+)\]*/.exec(name);
  const key = match?.[1] ?? '';
  const after = name.slice(match?.[0].length ?? 0);
  if (key === '') return params;
  if (after === '') {
    params[key] = value;
  } else if (after === '[') {
    params[name] = value;
  } else if (after === '[]') {
    const list = Array.isArray(params[key]) ? (params[key]) : (params[key] = []);
    if (!Array.isArray(list)) throw new TypeError(`expected a list for ${key}`);
    list.push(value);
  } else if (after.startsWith('[]')) {
    const nested = /^\[\]\[([^[\]]+)\]$/.exec(after);
    const childKey = nested ? (nested[1] ?? '') : after.slice(2);
    const existing = params[key] ?? (params[key] = []);
    if (!Array.isArray(existing)) throw new TypeError(`expected a list for ${key}`);
    const last = existing[existing.length - 1];
    if (isHash(last) && !hasKey(last, childKey)) normalize(last, childKey, value, depth + 1);
    else existing.push(normalize({}, childKey, value, depth + 1));
  } else {
    const existing = params[key] ?? (params[key] = {});
    if (!isHash(existing)) throw new TypeError(`expected a hash for ${key}`);
    params[key] = normalize(existing, after, value, depth + 1);
  }
  return params;
}

/** A form body (`application/x-www-form-urlencoded`) as Rack's `params` sees it. */
export function parseRackForm(body: string): RackParams {
  const params: RackParams = {};
  for (const [name, value] of new URLSearchParams(body)) normalize(params, name, value, 0);
  return params;
}
