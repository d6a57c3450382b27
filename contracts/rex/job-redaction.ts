/**
 * REX job data as people may see it (the control listener's status page and job board).
 * Foreman's `action_input` carries the script and the SSH, key and sudo passwords, and whatever
 * else a template adds (it is a loose object): so the view is an allow-list of named fields, never
 * the input minus known secrets.
 */

/** Fields of `action_input` that say where and how a job runs, and nothing it runs with. */
const SHOWN_INPUT_FIELDS = ['hostname', 'ssh_user', 'ssh_port', 'effective_user', 'effective_user_method', 'execution_timeout_interval', 'time_to_pickup', 'first_execution', 'alternative_names', 'callback', 'proxy_url'] as const;
const SHOWN_DATA_FIELDS = ['planId', 'batchId', 'actionClass', 'launchedAt'] as const;

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function pick(source: Record<string, unknown>, fields: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(fields.filter((field) => source[field] !== undefined).map((field) => [field, source[field]]));
}

/** Whether job data carries an input (only host jobs do; batches and callbacks hold ids). */
export const carriesInput = (data: unknown): boolean => isRecord(data) && data.input !== undefined;

/** Any REX job's data (raw from Redis: it may not even fit the contract) without anything secret. */
export function redactedJobData(data: unknown): unknown {
  if (!isRecord(data)) return data === undefined ? undefined : '(not shown)';
  const input = isRecord(data.input) ? data.input : {};
  const script = typeof input.script === 'string' ? `(${new TextEncoder().encode(input.script).length} bytes, not shown)` : undefined;
  const secrets = isRecord(input.secrets) ? '(not shown)' : undefined;
  const shownInput = { ...pick(input, SHOWN_INPUT_FIELDS), ...(script === undefined ? {} : { script }), ...(secrets === undefined ? {} : { secrets }) };
  return { ...pick(data, SHOWN_DATA_FIELDS), input: shownInput };
}
