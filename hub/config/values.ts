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
const SENTINEL_DEFAULT_PORT = 26379;

/** `host:port` as `redis://host:port`; the Sentinel port when none is given. */
function asSentinelUrl(item: string): string | undefined {
  const url = URL.canParse(item.includes('://') ? item : `redis://${item}`) ? new URL(item.includes('://') ? item : `redis://${item}`) : undefined;
  if (url === undefined || !['redis:', 'rediss:'].includes(url.protocol) || url.hostname === '' || (url.pathname !== '' && url.pathname !== '/') || url.search !== '') return undefined;
  if (url.port === '') url.port = String(SENTINEL_DEFAULT_PORT);
  return url.toString().replace(/\/$/, '');
}

/**
 * Redis Sentinel addresses, `host:port` or `redis://` / `rediss://` URLs (credentials and TLS
 * as in the Redis URL), kept as a list of URLs. ioredis speaks to every Sentinel with one
 * account and one TLS setting, so a list that mixes them is refused instead of half-applied.
 */
export const sentinelUrlList = z
  // A YAML file may give a list; the variable gives one string.
  .preprocess((value) => (Array.isArray(value) ? value.join(',') : value), z.string())
  .transform((value: string) => value.split(',').map((s) => s.trim()).filter((s) => s.length > 0))
  .transform((items, context) => {
    const urls: string[] = [];
    for (const [index, item] of items.entries()) {
      const url = asSentinelUrl(item);
      if (url === undefined) {
        const shown = item.replace(/\/\/[^@/]*@/, '//***@');
        context.addIssue({ code: 'custom', message: `${items.length > 1 ? `item ${index + 1} (${shown})` : shown} must be host:port or a redis:// or rediss:// URL without a path` });
      } else urls.push(url);
    }
    if (items.length === 0) context.addIssue({ code: 'custom', message: 'must name at least one Sentinel' });
    const accounts = new Set(urls.map((url) => { const { protocol, username, password } = new URL(url); return `${protocol}${username}:${password}`; }));
    if (accounts.size > 1) context.addIssue({ code: 'custom', message: 'every Sentinel must be given with the same scheme (redis:// or rediss://) and the same user and password' });
    return urls;
  });
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
