/**
 * Plain HTTP behind a TLS-terminating front proxy: the client's identity comes from the header
 * that proxy sets, and only when the request comes from a configured front-proxy address. The
 * same header from any other peer is ignored, so the upload routes refuse it as anonymous.
 * (127.0.0.2 plays the front proxy, 127.0.0.1 a client that reaches the ingress around it.)
 */
import { request } from 'node:http';
import t from 'tap';
import { startHubWithForeman } from '../helpers/hub-with-foreman.ts';

const FRONT_PROXY = '127.0.0.2';
const FOREMAN_NAME = 'foreman.example.com';
const { hub, foreman } = await startHubWithForeman(t, { roles: 'ingress,worker:registration', overrides: () => ({ frontProxy: { addresses: [FRONT_PROXY], identityHeader: 'X-Client-CN' } }) });
// The same setting on a control listener (plain HTTP on loopback, Foreman listed by name).
const { hub: control } = await startHubWithForeman(t, { roles: 'control', overrides: () => ({ frontProxy: { addresses: [FRONT_PROXY], identityHeader: 'X-Client-CN' }, trustedHosts: [FOREMAN_NAME], foreman: {} }) });

function get(base: string, path: string, from: string, headers: Record<string, string>): Promise<{ status: number; body: { code?: string } }> {
  const url = new URL(`${base}${path}`);
  return new Promise((resolve, reject) => {
    const call = request({ host: url.hostname, port: url.port, path: url.pathname, method: 'GET', localAddress: from, headers }, (response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => (text += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text.startsWith('{') ? (JSON.parse(text) as { code?: string }) : {} }));
    });
    call.on('error', reject);
    call.end();
  });
}

function post(from: string, headers: Record<string, string>, body: unknown): Promise<{ status: number; body: { code?: string } }> {
  const url = new URL(`${hub.ingressUrl}/api/v2/hosts/facts`);
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const call = request({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', localAddress: from, headers: { 'content-type': 'application/json', ...headers } }, (response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => (text += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text ? (JSON.parse(text) as { code?: string }) : {} }));
    });
    call.on('error', reject);
    call.end(payload);
  });
}

t.test('the front proxy names the host: its own facts pass, another host is refused', async (t) => {
  t.equal((await post(FRONT_PROXY, { 'x-client-cn': 'hosta.example.com' }, { name: 'hosta.example.com', facts: {} })).status, 202);
  const other = await post(FRONT_PROXY, { 'x-client-cn': 'hosta.example.com' }, { name: 'hostb.example.com', facts: {} });
  t.equal(other.status, 403);
  t.equal(other.body.code, 'PROXYHUB_AUTH_HOST_MISMATCH');
});

t.test('without the header the front proxy forwards an anonymous client: refused', async (t) => {
  const answer = await post(FRONT_PROXY, {}, { name: 'hosta.example.com', facts: {} });
  t.equal(answer.status, 403);
  t.equal(answer.body.code, 'PROXYHUB_AUTH_CERT_REQUIRED');
});

t.test('a client that is not the front proxy cannot claim an identity with the header', async (t) => {
  const answer = await post('127.0.0.1', { 'x-client-cn': 'hosta.example.com' }, { name: 'hosta.example.com', facts: {} });
  t.equal(answer.status, 403);
  t.equal(answer.body.code, 'PROXYHUB_AUTH_CERT_REQUIRED');
});

t.test("the control listener never takes a front proxy's header for Foreman's certificate", async (t) => {
  // Where Apache runs beside the hub, any local process connects from the proxy's address.
  const claimed = await get(control.controlUrl as string, '/dead-letters', FRONT_PROXY, { 'x-client-cn': FOREMAN_NAME });
  t.equal(claimed.status, 403, 'a trusted name in the header opens nothing');
  t.equal(claimed.body.code, 'PROXYHUB_AUTH_NOT_TRUSTED', 'decided by the address, which is no address of Foreman');
  t.equal((await get(control.controlUrl as string, '/healthz', FRONT_PROXY, { 'x-client-cn': FOREMAN_NAME })).status, 200, 'the listener answers: the refusal is the guard');
  // The ingress of the same setting still believes the proxy (above): the two listeners differ on purpose.
});

t.test("templates: Foreman sees the address the front proxy forwarded, and no one else's header", async (t) => {
  const seen = async (from: string, forwarded: string | undefined): Promise<unknown> => {
    const answer = await get(hub.ingressUrl as string, '/userdata/user-data', from, forwarded === undefined ? {} : { 'x-forwarded-for': forwarded });
    t.equal(answer.status, 200);
    return foreman.requests.filter((r) => r.path.startsWith('/userdata')).at(-1)?.headers['x-forwarded-for'];
  };
  // Apache appends the peer it saw: what came before is the client's own, and not believed.
  t.equal(await seen(FRONT_PROXY, '10.9.8.7, 192.0.2.10'), '192.0.2.10', "the proxy's entry, the last one");
  // A proxy that forwards no address (nginx without proxy_set_header) is refused, never looked up as itself.
  const asked = foreman.requests.length;
  for (const forwarded of [undefined, '192.0.2.10, not-an-address']) {
    const answer = await get(hub.ingressUrl as string, '/userdata/user-data', FRONT_PROXY, forwarded === undefined ? {} : { 'x-forwarded-for': forwarded });
    t.equal(answer.status, 502, `${forwarded ?? 'no X-Forwarded-For'}: refused as a misconfigured front proxy`);
  }
  t.equal(foreman.requests.length, asked, 'Foreman was not asked');
  t.equal(await seen('127.0.0.1', '192.0.2.10'), '127.0.0.1', 'from any other peer the header counts for nothing');
});
