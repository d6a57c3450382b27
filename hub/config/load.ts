/**
 * Reads the configuration once: the YAML file named by PROXYHUB_CONFIG, then one environment
 * variable per key on top (the variables are declared with the keys, in schema.ts). This is the
 * only module that reads `process.env` for settings.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { ProxyhubError, errorMessage } from '../../contracts/errors.ts';
import { configSchema, type Config } from './schema.ts';
import { environmentVariables, variablesWhereEmptyIsAValue } from './settings.ts';

function setPath(target: Record<string, unknown>, dotted: string, value: unknown): void {
  const keys = dotted.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys[keys.length - 1] as string] = value;
}

function readConfigFile(path: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = parseYaml(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ProxyhubError('PROXYHUB_CONFIG_INVALID', `cannot read config file ${path}: ${errorMessage(error)}`, { cause: error });
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ProxyhubError('PROXYHUB_CONFIG_INVALID', `config file ${path} must hold a YAML mapping`);
  }
  return parsed as Record<string, unknown>;
}

/** Parses file + environment; throws one error that lists every problem. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const raw: Record<string, unknown> = env.PROXYHUB_CONFIG ? readConfigFile(env.PROXYHUB_CONFIG) : {};
  for (const [variable, path] of Object.entries(environmentVariables)) {
    const value = env[variable];
    // Empty means unset (a unit file's `VAR=`), except where the key declares emptyIsValue.
    if (value !== undefined && (value !== '' || variablesWhereEmptyIsAValue.has(variable))) setPath(raw, path, value);
  }
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const path = issue.path.join('.');
      // A list variable's problem has the item index in its path: match the variable by prefix.
      const variable = Object.entries(environmentVariables).find(([, p]) => path === p || path.startsWith(`${p}.`))?.[0];
      return `  - ${path}${variable ? ` (${variable})` : ''}: ${issue.message}`;
    });
    throw new ProxyhubError('PROXYHUB_CONFIG_INVALID', `invalid configuration:\n${problems.join('\n')}`);
  }
  return deepFreeze(result.data);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
