/**
 * The README's configuration table, generated from the declarations in schema.ts so that it
 * cannot drift from what the loader reads and applies. `scripts/config-table.ts` writes it;
 * tests/unit/config-settings.test.ts fails when the README holds another one.
 */
import { appliedDefaults, settings, valueAt, type Setting } from './settings.ts';

export const TABLE_START = '<!-- config-table:start (generated from hub/config/schema.ts by: node --import tsx scripts/config-table.ts) -->';
export const TABLE_END = '<!-- config-table:end -->';
export const REGENERATE_COMMAND = 'node --import tsx scripts/config-table.ts';

const MiB = 1024 * 1024;
const HOUR_MS = 3_600_000;
const DAY_SECONDS = 86_400;

/** A readable unit beside a raw number, chosen by the key's name (`…Bytes`, `…Ms`, `…Seconds`). */
function readable(path: string, value: number): string | undefined {
  if (path.endsWith('Bytes') && value >= MiB && value % MiB === 0) return `${value / MiB} MiB`;
  if (path.endsWith('Ms') && value >= HOUR_MS && value % HOUR_MS === 0) return `${value / HOUR_MS} h`;
  if (path.endsWith('Seconds') && value >= DAY_SECONDS && value % DAY_SECONDS === 0) {
    const days = value / DAY_SECONDS;
    return `${days} day${days === 1 ? '' : 's'}`;
  }
  return undefined;
}

/** The default as the table shows it: the value the schema applies, else the declared words. */
export function shownDefault(setting: Setting, applied: unknown): string {
  if (setting.shownDefault !== undefined) return setting.shownDefault;
  if (applied === undefined) return '—';
  if (Array.isArray(applied)) return applied.length === 0 ? 'none' : `\`${applied.join(',')}\``;
  if (typeof applied === 'boolean') return applied ? '`1`' : '`0`';
  if (typeof applied === 'number') {
    const unit = readable(setting.path, applied);
    return unit === undefined ? `\`${applied}\`` : `\`${applied}\` (${unit})`;
  }
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- the scalar defaults left (strings) print as themselves
  return `\`${String(applied)}\``;
}

const cell = (text: string): string => text.replaceAll('|', '\\|');

export function renderConfigTable(): string {
  const rows = settings.map((setting) => `| \`${setting.env}\` | \`${setting.path}\` | ${cell(shownDefault(setting, valueAt(appliedDefaults, setting.path)))} | ${cell(setting.doc)} |`);
  return ['| variable | YAML key | default | meaning |', '|---|---|---|---|', ...rows].join('\n');
}

/** `readme` with the text between the markers replaced by the generated table. */
export function withConfigTable(readme: string): string {
  const start = readme.indexOf(TABLE_START);
  const end = readme.indexOf(TABLE_END);
  if (start < 0 || end < start) throw new Error(`README.md has no ${TABLE_START} … ${TABLE_END} markers around the configuration table`);
  // Blank lines around the table: a table glued to an HTML comment is not a table to every renderer.
  return `${readme.slice(0, start + TABLE_START.length)}\n\n${renderConfigTable()}\n\n${readme.slice(end)}`;
}
