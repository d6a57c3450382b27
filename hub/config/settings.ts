/**
 * Everything derived from the one declaration of each key in schema.ts: the list of settings
 * (dotted path, variable, words), the loader's variable map, and the way back from a parsed
 * configuration to the variables that reproduce it (what the tests give a spawned hub).
 */
import { z } from 'zod';
import { configSchema, type Config } from './schema.ts';
import { settingDocs, type SettingDoc } from './setting.ts';

export interface Setting extends SettingDoc {
  /** Dotted path in the schema, as written in the YAML file (`foreman.timeoutMs`). */
  readonly path: string;
}

/** `.default()`, `.prefault()` and `.optional()` wrap the type that says what a key holds. */
function unwrap(schema: z.ZodType): z.ZodType {
  let inner = schema;
  while (inner instanceof z.ZodDefault || inner instanceof z.ZodPrefault || inner instanceof z.ZodOptional) inner = inner.unwrap() as z.ZodType;
  return inner;
}

/** Every key declared with `setting()`, in schema order; a key without one is a mistake in schema.ts. */
export function collectSettings(schema: z.ZodType, path: readonly string[] = []): Setting[] {
  const doc = settingDocs.get(schema);
  if (doc !== undefined) return [{ ...doc, path: path.join('.') }];
  const inner = unwrap(schema);
  if (inner instanceof z.ZodObject) {
    return Object.entries(inner.shape as Record<string, z.ZodType>).flatMap(([key, child]) => collectSettings(child, [...path, key]));
  }
  throw new Error(`config key ${path.join('.')} declares no environment variable: wrap it in setting() in hub/config/schema.ts`);
}

function withUniqueVariables(list: Setting[]): readonly Setting[] {
  const seen = new Set<string>();
  for (const { env, path } of list) {
    if (seen.has(env)) throw new Error(`${env} is declared for two config keys (one is ${path})`);
    seen.add(env);
  }
  return Object.freeze(list);
}

export const settings: readonly Setting[] = withUniqueVariables(collectSettings(configSchema));

/** Environment variable → dotted path in the schema. */
export const environmentVariables: Readonly<Record<string, string>> = Object.freeze(Object.fromEntries(settings.map(({ env, path }) => [env, path])));

/** Variables for which `VAR=` is a value (an empty list), not "unset". */
export const variablesWhereEmptyIsAValue: ReadonlySet<string> = new Set(settings.filter((s) => s.emptyIsValue).map((s) => s.env));

/** What the schema applies when nothing is set. */
export const appliedDefaults: Config = configSchema.parse({});

export function valueAt(config: unknown, dotted: string): unknown {
  return dotted.split('.').reduce<unknown>((node, key) => (typeof node === 'object' && node !== null ? (node as Record<string, unknown>)[key] : undefined), config);
}

/** One value as its variable carries it; undefined when the key is unset. */
function toVariable(setting: Setting, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (Array.isArray(value)) {
    const items = value.map(String);
    if (items.some((item) => item.includes(','))) throw new Error(`${setting.path}: an item containing a comma cannot be written as ${setting.env}`);
    // An empty value reads as unset, which is the empty list only where the default is empty.
    if (items.length === 0 && !setting.emptyIsValue && (valueAt(appliedDefaults, setting.path) as unknown[]).length > 0) {
      throw new Error(`${setting.path}: an empty list cannot be written as ${setting.env} (empty means unset, the default)`);
    }
    return items.join(',');
  }
  if (typeof value === 'boolean') return value ? '1' : '0';
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- scalars (strings, numbers) are all that is left here
  return String(value);
}

/**
 * The variables that give `loadConfig` back exactly `config`, every key included: a variable
 * whose key is unset maps to undefined, so that a caller merging this over another environment
 * can drop it there too.
 */
export function configToEnvironment(config: Config): Record<string, string | undefined> {
  return Object.fromEntries(settings.map((setting) => [setting.env, toVariable(setting, valueAt(config, setting.path))]));
}
