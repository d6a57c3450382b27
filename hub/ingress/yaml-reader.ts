/**
 * Where the ingress parses a YAML report: small bodies inline (a thread hand-off costs more than
 * their parse), large ones in a bounded pool of parse threads.
 */
import type { Logger } from '../log/logger.ts';
import { createThreadPool, threadModule } from '../threads/thread-pool.ts';
import { readYamlReport, type UploadedReport } from './yaml-report.ts';

export interface ParseSettings {
  /** Parse threads; 0 parses every body inline. @defaultValue min(2, CPUs) (PROXYHUB_PARSE_THREADS) */
  readonly threads: number;
  /** Bodies waiting for a busy thread; past it PROXYHUB_PARSE_QUEUE_FULL. @defaultValue 16 */
  readonly queueLimit: number;
  /** Bodies longer than this go to a thread. @defaultValue 256 KiB */
  readonly yamlThresholdBytes: number;
  /** Nice steps below the process each thread runs at. @defaultValue 10 (PROXYHUB_PARSE_THREAD_NICENESS) */
  readonly niceness?: number | undefined;
}

export interface YamlReader {
  read(text: string): Promise<UploadedReport>;
  close(): Promise<void>;
}

export function createYamlReader(settings: ParseSettings | undefined, logger?: Logger): YamlReader {
  if (settings === undefined || settings.threads === 0) return { read: async (text) => readYamlReport(text), close: async () => undefined };
  const pool = createThreadPool<string, UploadedReport>({ name: 'yaml-parse', module: threadModule(import.meta.url, 'yaml-parse-thread'), size: settings.threads, queueLimit: settings.queueLimit, niceness: settings.niceness, logger });
  return {
    // String length, not bytes: close enough for choosing, and it costs nothing to read.
    read: async (text) => (text.length > settings.yamlThresholdBytes ? pool.run(text) : readYamlReport(text)),
    close: () => pool.close(),
  };
}
