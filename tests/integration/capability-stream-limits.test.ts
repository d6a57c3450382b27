/**
 * The capability event stream cannot be used to exhaust the control process: streams beyond
 * PROXYHUB_MAX_EVENT_STREAMS get 503, and a subscriber that stops reading is dropped before the
 * changes waiting for it take more than a bounded amount of memory. Over a real TLS listener (the
 * route needs a trusted certificate), with a capability service stand-in the test emits changes into.
 */
import type { ServerResponse } from 'node:http';
import { connect, type TLSSocket } from 'node:tls';
import t from 'tap';
import { createTopology } from '../../contracts/topology.ts';
import { httpSettingsFrom } from '../../cli/http-settings.ts';
import type { CapabilityChange } from '../../contracts/events/capability.ts';
import { createLogger } from '../../hub/log/logger.ts';
import type { Publisher } from '../../hub/bus/transport.ts';
import { buildControlApp } from '../../hub/control/app.ts';
import type { CapabilityService, ChangeRecord } from '../../hub/control/capability-service.ts';
import { ArfStore } from '../../hub/storage/arf-store.ts';
import { testConfig, testPrefix } from '../helpers/hub-harness.ts';
import { createTestPki, type CertFiles } from '../helpers/pki.ts';
import { waitFor } from '../helpers/wait-for.ts';

const MAX_STREAMS = 3;
/** What the route may keep queued for one subscriber before it drops it, plus one event. */
const BUFFER_BOUND = 1024 * 1024 + 128 * 1024;

const refuse = (): never => {
  throw new Error('not used');
};
const listeners = new Set<(record: ChangeRecord) => void>();
let seq = 0;
const service: CapabilityService = {
  start: async () => undefined,
  close: async () => undefined,
  features: () => new Map(),
  snapshot: () => ({ features: {}, instances: [], lastEventId: `e.${seq}` }),
  eventIdOf: (n) => `e.${n}`,
  lastSeq: () => seq,
  changesAfter: () => undefined,
  subscribe: (listener) => {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },
  instances: () => [],
  subscribeInstances: () => () => undefined,
};
/** A change of about 64 KiB on the wire; the stand-in's content does not need to be a real one. */
function emit(): void {
  seq += 1;
  const change = { feature: 'reports', change: 'up', padding: 'p'.repeat(64 * 1024) } as unknown as CapabilityChange;
  for (const listener of [...listeners]) listener({ seq, eventId: `id-${seq}`, change });
}

const pki = createTestPki();
const foremanCert = pki.client('foreman.example.com');
const config = testConfig(testPrefix(), 'http://127.0.0.1:9', {
  tls: { cert: pki.server.cert, key: pki.server.key, ca: pki.caCert },
  trustedHosts: ['foreman.example.com'],
  limits: { ratePerMinute: 0, maxEventLoopDelayMs: 0, maxEventLoopUtilization: 0, maxEventStreams: MAX_STREAMS },
});
const publisher: Publisher = { state: 'ready', start: async () => undefined, publish: refuse, close: async () => undefined };
const app = await buildControlApp({
  publisher, logger: createLogger('silent'), version: 'test', http: httpSettingsFrom(config), templateUrl: undefined, expectedFeatures: [], maxEventStreams: MAX_STREAMS,
  deadLetters: { list: refuse, show: refuse, replay: refuse, count: refuse },
  compliance: { store: new ArfStore(config.dataDir), oscapPath: 'oscap' },
  capabilities: service,
  rexJobs: { launch: refuse, job: refuse, batch: refuse, output: refuse, count: refuse, requestCancel: refuse, list: refuse },
  status: { topology: createTopology(config.prefix), openQueueBrowser: refuse, jobBoard: [] },
});
/** The server side of each stream, to see what it keeps buffered. */
const serverSides: ServerResponse[] = [];
app.server.on('request', (request, response: ServerResponse) => {
  if (request.url === '/capabilities/events') serverSides.push(response);
});
const port = Number((await app.listen({ host: '127.0.0.1', port: 0 })).split(':').at(-1));
const sockets: TLSSocket[] = [];
t.teardown(async () => {
  for (const socket of sockets) socket.destroy();
  await app.close();
  pki.remove();
});

interface Stream {
  readonly socket: TLSSocket;
  readonly status: number;
  readonly head: string;
  /** Complete SSE events received so far. */
  events(): number;
  readonly closed: Promise<void>;
}

/** A raw TLS connection, so that the test decides when (and whether) the client reads. */
async function openStream(client: CertFiles): Promise<Stream> {
  const socket = connect({ host: '127.0.0.1', port, servername: 'localhost', ca: pki.read(pki.caCert), cert: pki.read(client.cert), key: pki.read(client.key) });
  sockets.push(socket);
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  let text = '';
  let events = 0;
  socket.on('data', (chunk: Buffer) => {
    text += chunk.toString('latin1');
    let end: number;
    const headEnd = text.indexOf('\r\n\r\n');
    // Counted and dropped as they come, so a long stream costs the test nothing.
    while (headEnd >= 0 && (end = text.indexOf('\n\n', headEnd + 4)) >= 0) {
      events += 1;
      text = text.slice(0, headEnd + 4) + text.slice(end + 2);
    }
  });
  await new Promise<void>((resolve) => socket.once('secureConnect', () => resolve()));
  socket.write('GET /capabilities/events HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n\r\n');
  await waitFor(() => text.includes('\r\n\r\n') || socket.destroyed, { what: 'response headers' });
  const head = text.slice(0, text.indexOf('\r\n\r\n'));
  return { socket, status: Number(head.split(' ')[1]), head, events: () => events, closed };
}

t.test(`at most ${MAX_STREAMS} streams at once; the next gets 503 problem+json with Retry-After`, async (t) => {
  const open = [];
  for (let i = 0; i < MAX_STREAMS; i += 1) open.push(await openStream(foremanCert));
  t.same(open.map((s) => s.status), Array(MAX_STREAMS).fill(200));
  const refused = await openStream(foremanCert);
  t.equal(refused.status, 503, 'one stream over the cap');
  t.match(refused.head, /\r\ncontent-type: application\/problem\+json/i);
  t.match(refused.head, /\r\nretry-after: \d+/i);
  refused.socket.destroy();
  open[0]?.socket.destroy();
  await waitFor(() => listeners.size === MAX_STREAMS - 1, { what: 'the closed stream to be released' });
  const again = await openStream(foremanCert);
  t.equal(again.status, 200, 'a freed slot is usable again');
  for (const stream of [...open, again]) stream.socket.destroy();
  await waitFor(() => listeners.size === 0, { what: 'every stream released' });
});

t.test('a subscriber that stops reading is dropped with bounded memory; a reading one keeps up', async (t) => {
  const reader = await openStream(foremanCert);
  const stalled = await openStream(foremanCert);
  const stalledServerSide = serverSides.at(-1) as ServerResponse;
  await waitFor(() => reader.events() === 1 && stalled.events() === 1, { what: 'both snapshots' });
  stalled.socket.pause();
  let maxBuffered = 0;
  let emitted = 0;
  // 25 MiB in all: several times what loopback socket buffers can absorb.
  while (emitted < 400 && !stalledServerSide.destroyed) {
    emit();
    emitted += 1;
    maxBuffered = Math.max(maxBuffered, stalledServerSide.writableLength);
    await waitFor(() => reader.events() === emitted + 1, { intervalMs: 1, what: `the reading client to get change ${emitted}` });
  }
  t.ok(stalledServerSide.destroyed, `the stalled subscriber was dropped (after ${emitted} changes)`);
  t.ok(maxBuffered <= BUFFER_BOUND, `at most ${maxBuffered} bytes were queued for it`);
  stalled.socket.resume();
  if (stalledServerSide.destroyed) await stalled.closed;
  t.equal(reader.events(), emitted + 1, 'the reading subscriber got every change');
  t.equal(listeners.size, 1, 'only the reading subscriber is left');
  reader.socket.destroy();
});
