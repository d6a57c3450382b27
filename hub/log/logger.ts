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

/** The access log: one line per answered request, written in blocks rather than one write per line. */
export interface AccessLog {
  readonly logger: Logger;
  /** Writes what is buffered (at shutdown; also every second, and at exit). */
  flush(): Promise<void>;
}

/**
 * At thousands of uploads a second a write to stdout per line would cost more than the upload
 * itself; these lines are buffered (up to 8 KiB, at most a second) on their own stream to the same
 * stdout, whole lines at a time, so they never split another line. Only the access log is
 * buffered: everything else is still written at once, so nothing that explains a crash waits.
 */
export function createAccessLog(level: string, name = 'proxyhub'): AccessLog {
  const destination = pino.destination({ dest: 1, sync: false, minLength: 8192, periodicFlush: 1000 });
  const logger = pino({ name, level, redact: { paths: ['headers.authorization'], censor: '[redacted]' } }, destination).child({ log: 'access' });
  return {
    logger,
    flush: () => new Promise((resolve) => destination.flush(() => resolve())),
  };
}
