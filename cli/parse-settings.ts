import { availableParallelism } from 'node:os';
import type { Config } from '../hub/config/schema.ts';
import type { ParseSettings } from '../hub/ingress/yaml-reader.ts';

/**
 * PROXYHUB_PARSE_THREADS unset: two threads, or one on a single-core machine, where a second
 * would only compete with the event loop it is meant to relieve.
 */
export function parseSettingsFrom(config: Config): ParseSettings {
  return { ...config.parse, threads: config.parse.threads ?? Math.min(2, availableParallelism()) };
}
