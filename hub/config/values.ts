/**
 * The value types configuration keys are made of. Each accepts the string an environment
 * variable carries as well as the typed value a YAML file gives.
 */
import { z } from 'zod';
import { smartProxyFeatures } from '../../contracts/capabilities.ts';

export const port = z.coerce.number().int().min(0).max(65535);
export const positiveInt = z.coerce.number().int().positive();
export const milliseconds = z.coerce.number().int().min(1);

/** Splits `a, b,,c` into `['a', 'b', 'c']`: blanks are dropped, so `VAR=` is an empty list. */
function splitCommas(value: unknown): unknown {
  return typeof value === 'string' ? value.split(',').map((s) => s.trim()).filter((s) => s.length > 0) : value;
}

export const csvList = z.preprocess(splitCommas, z.array(z.string()));
export const featureList = z.preprocess(splitCommas, z.array(z.enum(smartProxyFeatures)));
export const delayList = z.preprocess(
  // Not splitCommas: a blank tier must be reported, not skipped.
  (value) => (typeof value === 'string' ? value.split(',').map((s) => Number(s.trim())) : value),
  z.array(z.number().int().min(10)).min(1),
);

const TRUE_WORDS = ['1', 'true', 'yes', 'on'];
const FALSE_WORDS = ['0', 'false', 'no', 'off'];
export const flag = z.preprocess((value) => {
  if (typeof value !== 'string') return value;
  const word = value.toLowerCase();
  if (TRUE_WORDS.includes(word)) return true;
  return FALSE_WORDS.includes(word) ? false : value;
}, z.boolean({ error: `expected one of ${[...TRUE_WORDS, ...FALSE_WORDS].join(', ')}` }));
