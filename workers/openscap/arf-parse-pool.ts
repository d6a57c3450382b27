/**
 * How the openscap worker turns an upload into Foreman's JSON: in a bounded pool of parse
 * threads, or inline (PROXYHUB_PARSE_THREADS=0) in slices with an event-loop turn between them.
 */
import type { Logger } from '../../hub/log/logger.ts';
import { createThreadPool, threadModule } from '../../hub/threads/thread-pool.ts';
import { arfForemanJson, type ArfJobContext } from './arf-foreman-json.ts';
import type { ArfParseTask } from './arf-parse-thread.ts';

export interface ArfParser {
  parse(bytes: Buffer, context: ArfJobContext): Promise<string>;
  close(): Promise<void>;
}

export interface ArfParserOptions {
  /** Parse threads; 0 parses on the calling thread. */
  readonly threads: number;
  readonly queueLimit: number;
  /** Nice steps below the process each thread runs at (PROXYHUB_PARSE_THREAD_NICENESS). */
  readonly niceness?: number | undefined;
  readonly logger?: Logger | undefined;
}

/**
 * Inline, the bytes are handed over in slices with a real event-loop turn between them, so that
 * a large report never holds the worker's loop (broker heartbeats, other deliveries) for its
 * whole parse.
 */
async function* slices(bytes: Buffer, size = 64 * 1024): AsyncIterable<Buffer> {
  for (let at = 0; at < bytes.length; at += size) {
    yield bytes.subarray(at, at + size);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

export function createArfParser(options: ArfParserOptions): ArfParser {
  if (options.threads === 0) return { parse: (bytes, context) => arfForemanJson(slices(bytes), context), close: async () => undefined };
  const pool = createThreadPool<ArfParseTask, string>({ name: 'arf-parse', module: threadModule(import.meta.url, 'arf-parse-thread'), size: options.threads, queueLimit: options.queueLimit, niceness: options.niceness, logger: options.logger });
  return {
    parse: (bytes, context) => pool.run({ bytes, context }),
    close: () => pool.close(),
  };
}
