/**
 * What a configuration key declares besides its type: the environment variable that sets it and
 * the words the README shows. Kept beside the zod type (in a zod registry) so that the loader's
 * variable map, the test harness's environment and the README table are all read from the one
 * declaration in schema.ts instead of being written again by hand.
 */
import { z } from 'zod';

export interface SettingDoc {
  /** The environment variable that overrides the key. */
  readonly env: `PROXYHUB_${string}`;
  /** What the key does, for operators: one line of Markdown in the README table. */
  readonly doc: string;
  /**
   * The default as people should read it, only where the applied one cannot be shown: none is
   * applied (an optional key whose absence means something), or it is computed at start.
   * Otherwise the README shows the value the schema applies, so the two cannot drift.
   */
  readonly shownDefault?: string;
  /**
   * `VAR=` sets an empty list instead of meaning unset. Only where unset and empty differ
   * (trusted hosts: the smart-proxy's `[]` refuses everyone, unset may mean development mode).
   */
  readonly emptyIsValue?: true;
}

export const settingDocs = z.registry<SettingDoc>();

/** Declares `schema` as one configuration key; call it on the outermost schema (after `.default()`). */
export function setting<T extends z.ZodType>(schema: T, doc: SettingDoc): T {
  // A shared schema instance would carry one key's variable into another's.
  if (settingDocs.has(schema)) throw new Error(`${doc.env}: this schema instance already declares ${settingDocs.get(schema)?.env}`);
  settingDocs.add(schema, doc);
  return schema;
}
