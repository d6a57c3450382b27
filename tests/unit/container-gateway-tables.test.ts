/**
 * Katello's pushes as Rack parses them (container-gateway-contract §4.1), the tables made from
 * them, and the token expiry arithmetic that the plugin once got wrong by a time zone (#37925).
 */
import t from 'tap';
import { parseRackForm } from '../../contracts/container-gateway/rack-form.ts';
import { hostListBodySchema, hostMappingBodySchema, hostRows, mappingRows, repositoryListBodySchema, repositoryRows, userMappingBodySchema } from '../../contracts/container-gateway/tables.ts';
import { expiryOf, scopedRepositories } from '../../workers/container-gateway/token-issue.ts';
import { clientLocation } from '../../workers/container-gateway/registry-ops.ts';

const form = (pairs: Array<[string, string]>): string => new URLSearchParams(pairs).toString();

t.test('repositories[][…] starts a new hash whenever a key repeats, as Rack does', async (t) => {
  const body = form([
    ['repositories[][repository]', 'org/prod/a'],
    ['repositories[][auth_required]', 'true'],
    ['repositories[][repository]', 'b'],
    ['repositories[][auth_required]', 'FALSE'],
  ]);
  const parsed = parseRackForm(body);
  t.strictSame(parsed, { repositories: [{ repository: 'org/prod/a', auth_required: 'true' }, { repository: 'b', auth_required: 'FALSE' }] });
  t.strictSame(repositoryRows(repositoryListBodySchema.parse(parsed)), [
    { name: 'org/prod/a', authRequired: true },
    { name: 'b', authRequired: false },
  ]);
  t.strictSame(repositoryRows(repositoryListBodySchema.parse(parseRackForm(''))), [], 'no key: an empty list (#32745)');
  t.strictSame(repositoryRows(repositoryListBodySchema.parse({ repositories: [{ repository: 'c', auth_required: true }] })), [{ name: 'c', authRequired: true }], 'JSON with real booleans');
});

t.test('users[][<login>][][…] merges every login into one hash; only auth_required entries are kept', async (t) => {
  const body = form([
    ['users[][admin][][repository]', 'a'],
    ['users[][admin][][auth_required]', 'true'],
    ['users[][admin][][repository]', 'b'],
    ['users[][admin][][auth_required]', 'false'],
    ['users[][bob][][repository]', 'a'],
    ['users[][bob][][auth_required]', 'true'],
  ]);
  const parsed = parseRackForm(body);
  t.strictSame(parsed, { users: [{ admin: [{ repository: 'a', auth_required: 'true' }, { repository: 'b', auth_required: 'false' }], bob: [{ repository: 'a', auth_required: 'true' }] }] });
  t.strictSame([...mappingRows(userMappingBodySchema.parse(parsed).users, true)], [
    ['admin', ['a']],
    ['bob', ['a']],
  ]);
  const hosts = parseRackForm(form([['hosts[][uuid-1][][repository]', 'a'], ['hosts[][uuid-1][][auth_required]', 'false']]));
  t.strictSame([...mappingRows(hostMappingBodySchema.parse(hosts).hosts, false)], [['uuid-1', ['a']]], 'hosts keep every entry');
});

t.test('blank host UUIDs are dropped (#38862)', async (t) => {
  const parsed = parseRackForm(form([['hosts[][uuid]', 'u1'], ['hosts[][uuid]', ''], ['hosts[][uuid]', ' '], ['hosts[][uuid]', 'u1'], ['hosts[][uuid]', 'u2']]));
  t.strictSame(hostRows(hostListBodySchema.parse(parsed)), ['u1', 'u2']);
});

t.test('a repository name that is not a registry name is refused', async (t) => {
  t.notOk(repositoryListBodySchema.safeParse({ repositories: [{ repository: '../etc', auth_required: 'true' }] }).success);
  t.throws(() => parseRackForm(`${'a['.repeat(40)}x${']'.repeat(40)}=1`), 'nesting is bounded');
});

t.test('token expiry: issued_at without a zone is UTC; expires_in defaults to 60 s', async (t) => {
  const now = Date.parse('2026-12-04T12:00:00Z');
  t.equal(expiryOf('2026-12-04T10:00:00Z', undefined, 3600, now), Date.parse('2026-12-04T11:00:00Z'));
  t.equal(expiryOf('2026-12-04T10:00:00', undefined, 3600, now), Date.parse('2026-12-04T11:00:00Z'), 'no zone: UTC, not this machine\'s zone');
  t.equal(expiryOf('2026-12-04 10:00:00', undefined, 3600, now), Date.parse('2026-12-04T11:00:00Z'), 'a space instead of T');
  t.equal(expiryOf('2026-12-04T12:00:00+02:00', undefined, 3600, now), Date.parse('2026-12-04T11:00:00Z'), 'an offset is honoured');
  t.equal(expiryOf(undefined, undefined, undefined, now), now + 60_000);
  t.equal(expiryOf('garbage', undefined, '120', now), now + 120_000);
});

t.test('scopes name repositories, slashes included', async (t) => {
  t.strictSame(scopedRepositories([['scope', 'repository:org/prod/a:pull'], ['service', 'x'], ['scope', 'repository:b:pull,push']]), ['org/prod/a', 'b']);
});

t.test('redirects keep the path and query, and take the client endpoint scheme and host (#38304)', async (t) => {
  const requested = new URL('https://pulp.internal/pulpcore_registry/v2/a/blobs/sha256:00');
  t.equal(clientLocation('/pulp/container/a/blobs/sha256:00?validate_token=x', requested, new URL('https://lb.example.com')), 'https://lb.example.com/pulp/container/a/blobs/sha256:00?validate_token=x');
  t.equal(clientLocation('http://pulp.internal:24816/x', requested, new URL('https://lb.example.com:8443')), 'https://lb.example.com:8443/x');
});
