import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

/** JSON logs on stdout; secrets are redacted wherever a caller logs a request or a URL. */
export function createLogger(level: string, name = 'proxyhub'): Logger {
  return pino({
    name,
    level,
    redact: { paths: ['req.headers.authorization', 'headers.authorization', '*.password', '*.key'], censor: '[redacted]' },
  });
}

/**
 * Strips credentials from a URL before it is logged or printed; a comma-separated list (the
 * nodes of a broker cluster) item by item.
 */
export function redactUrl(url: string): string {
  if (url.includes(',')) return url.split(',').map((item) => redactOne(item.trim())).join(',');
  return redactOne(url);
}

function redactOne(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '<unparseable url>';
  }
}
