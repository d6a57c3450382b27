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
const { hub } = await startHubWithForeman(t, { roles: 'ingress', overrides: () => ({ frontProxy: { addresses: [FRONT_PROXY], identityHeader: 'X-Client-CN' }, foreman: {} }) });

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
