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

const BROKER_URL = /^amqp(10)?s?:\/\/[^\s,]+$/;

/**
 * One broker URL or a comma-separated list of the nodes of one cluster, kept as the one string
 * (items trimmed, blanks dropped) that hub/bus/broker-urls.ts splits. Every item must be a URL of
 * the same protocol: a list mixing AMQP 1.0 and 0-9-1 nodes has no transport to speak.
 */
export const brokerUrlList = z
  .string()
  .transform((value) => value.split(',').map((s) => s.trim()).filter((s) => s.length > 0))
  .superRefine((urls, context) => {
    if (urls.length === 0) context.addIssue({ code: 'custom', message: 'must name at least one broker URL' });
    for (const [index, url] of urls.entries()) {
      if (!BROKER_URL.test(url) || !URL.canParse(url)) {
        const shown = url.replace(/\/\/[^@/]*@/, '//***@');
        context.addIssue({ code: 'custom', message: `${urls.length > 1 ? `item ${index + 1} (${shown})` : shown} must be an amqp://, amqps://, amqp10:// or amqp10s:// URL` });
      }
    }
    if (new Set(urls.map((url) => url.startsWith('amqp10'))).size > 1) {
      context.addIssue({ code: 'custom', message: 'mixes amqp10:// and amqp:// nodes: every node of the list must name the same protocol' });
    }
  })
  .transform((urls) => urls.join(','));
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
