/**
 * The catalog's helpers: what was thrown becomes an Error without losing it, retryability and
 * Retry-After come from the catalog by code (so they survive an error losing its class), and
 * every refusal a client is told to retry (503, 429) says when.
 */
import t from 'tap';
import { coerceError, errorCatalog, errorMessage, isRetryable, ProxyhubError, retryAfterOf, type ErrorCode } from '../../contracts/errors.ts';

t.test('coerceError keeps an Error as it is', async (t) => {
  const error = new TypeError('boom');
  t.equal(coerceError(error), error);
  const coded = new ProxyhubError('PROXYHUB_BUS_TIMEOUT', 'late');
  t.equal(coerceError(coded), coded);
});

t.test('coerceError wraps anything else and keeps it as cause', async (t) => {
  const fromString = coerceError('redis went away');
  t.ok(fromString instanceof Error);
  t.equal(fromString.message, 'redis went away');
  t.equal(fromString.cause, 'redis went away');
  const plain = { code: 42 };
  t.equal(coerceError(plain).message, '{"code":42}');
  t.equal(coerceError(plain).cause, plain);
  t.equal(coerceError(undefined).message, 'undefined');
  t.equal(coerceError(7).message, '7');
  const circular: Record<string, unknown> = {};
  circular['self'] = circular;
  t.equal(coerceError(circular).message, '[object Object]');
});

t.test('an error-like object (another realm, a deserialized error) keeps its name and message', async (t) => {
  const alien = { name: 'ForemanCallError', message: 'Foreman answered 500' };
  const error = coerceError(alien);
  t.equal(error.name, 'ForemanCallError');
  t.equal(error.message, 'Foreman answered 500');
  t.equal(error.cause, alien);
});

t.test('errorMessage is the coerced message', async (t) => {
  t.equal(errorMessage(new Error('a')), 'a');
  t.equal(errorMessage('b'), 'b');
  t.equal(errorMessage(null), 'null');
});

t.test('isRetryable reads the catalog by code: a copy without the class still classifies', async (t) => {
  t.equal(isRetryable(new ProxyhubError('PROXYHUB_EVENT_INVALID', 'bad')), false);
  t.equal(isRetryable(new ProxyhubError('PROXYHUB_FOREMAN_UNAVAILABLE', 'down')), true);
  t.equal(isRetryable({ name: 'ProxyhubError', code: 'PROXYHUB_ARF_UNPARSEABLE', message: 'x' }), false, 'serialized permanent error');
  t.equal(isRetryable(new Error('unclassified')), true, 'unknown failures are transient');
});

t.test('every refusal a client should retry (503, 429) carries Retry-After from the catalog', async (t) => {
  for (const code of Object.keys(errorCatalog) as ErrorCode[]) {
    const { status, retryable } = errorCatalog[code];
    const seconds = retryAfterOf(code);
    if (status === 503 || status === 429) t.ok(seconds !== undefined && seconds > 0, `${code} has retryAfterSeconds`);
    if (seconds !== undefined) t.ok(retryable, `${code} with Retry-After is retryable`);
  }
});

t.test('refusals outside a request carry catalog codes too', async (t) => {
  const { parseRoles } = await import('../../hub/config/roles.ts');
  const { createTopology } = await import('../../contracts/topology.ts');
  const { selectFeatures } = await import('../../hub/control/dead-letters.ts');
  const { rubyUtcTimestamp } = await import('../../workers/reports/host-report.ts');
  t.throws(() => parseRoles('frontend'), { code: 'PROXYHUB_CONFIG_INVALID', message: /unknown role "frontend"/ }, 'an unknown role');
  t.throws(() => parseRoles('worker:dns'), { code: 'PROXYHUB_CONFIG_INVALID' }, 'an unknown worker feature');
  t.throws(() => parseRoles(' , '), { code: 'PROXYHUB_CONFIG_INVALID', message: /no role given/ }, 'no role');
  t.throws(() => createTopology('Not A Prefix'), { code: 'PROXYHUB_CONFIG_INVALID', message: /must match/ }, 'a bad prefix');
  t.throws(() => selectFeatures('nope'), { code: 'PROXYHUB_INPUT_INVALID', field: 'feature' }, 'an unknown dead-letter feature');
  t.throws(() => rubyUtcTimestamp('yesterday'), { code: 'PROXYHUB_EVENT_INVALID', retryable: false }, 'a report time that can never convert dead-letters');
});

t.test('only catalog codes classify: an inherited property name is not a code', async (t) => {
  t.equal(isRetryable({ code: 'toString', message: 'x' }), true, 'treated as unclassified, so retried');
});
