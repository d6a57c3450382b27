/**
 * A stand-in for Foreman that follows foreman-contracts.md §2.1 and §2.2: the facts API answers
 * 201 with the host, host_reports answers 201, compliance ARF reports 200 `{"result":"ok","id"}`
 * (422 `{"result":"fail","errors"}` for an unknown policy or host), policy files as XML; bad
 * payloads 422; Katello's `/rhsm` as tests/helpers/katello-rhsm.ts describes. It records every request and injects
 * faults: slow answers, a status of choice, 422 for chosen hosts, and refusing connections.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { AddressInfo, Socket } from 'node:net';
import { KatelloRhsm } from './katello-rhsm.ts';

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  readonly raw: string;
  readonly body: unknown;
  readonly status: number;
  /** When the answer was sent (after any injected delay). */
  readonly at: number;
  /** When the request arrived, before any injected delay. */
  readonly arrivedAt: number;
  /** CN of the client certificate the caller presented (HTTPS only). */
  readonly clientCn: string | undefined;
  /** What this Foreman answered (JSON value or text). */
  readonly answer: unknown;
}

/** Foreman over HTTPS, verifying the proxy's client certificate as Apache does in front of it. */
export interface ForemanTls {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca: Buffer;
}

/** What one REX callback carries (foreman-contracts.md §2.3). */
export interface RexCallback {
  readonly callback: { readonly task_id: string | number; readonly step_id: number };
  readonly data: {
    readonly result: ReadonlyArray<{ output_type: string; output: string; timestamp: number }>;
    readonly exit_status: number | 'EXCEPTION';
    readonly exit_status_timestamp: number;
  };
}

export interface Fault {
  /** Delay before answering. */
  readonly delayMs?: number;
  /** Answer this status (with a Foreman-style error body) instead of handling the request. */
  readonly status?: number;
}

/**
 * Foreman's feature names (db seeds and plugins), matched as `associate_features` does: the
 * smart-proxy name lowercased with spaces removed.
 */
const FOREMAN_FEATURES = ['TFTP', 'DNS', 'DHCP', 'Puppet', 'Puppet CA', 'BMC', 'Realm', 'Facts', 'Logs', 'HTTPBoot', 'External IPAM', 'Templates', 'Registration', 'Reports', 'Openscap', 'Script', 'Dynflow'];
const FEATURE_NAME_MAP = new Map(FOREMAN_FEATURES.map((name) => [name.toLowerCase().replace(/ /g, ''), name]));

/** A smart proxy as Foreman stores it after a refresh. */
export interface StoredProxy {
  readonly url: string;
  features: Record<string, { settings: unknown; capabilities: unknown }>;
}

export class TestForeman {
  /**
   * Registered smart proxies by id. `PUT /api/v2/smart_proxies/:id/refresh` re-reads the proxy's
   * `/v2/features` as Foreman's `associate_features` does: running entries only, known names
   * only, 422 when none is left.
   */
  readonly smartProxies = new Map<number, StoredProxy>();
  readonly requests: RecordedRequest[] = [];
  /** The request target of each request, query included, in arrival order of answers. */
  readonly rawUrls: string[] = [];
  /** Host names whose uploads Foreman refuses with 422, as it does for hosts pending build. */
  readonly rejectHosts = new Set<string>();
  /** SCAP files by `content/<policy id>` or `tailoring/<policy id>`; a missing one is a 404. */
  readonly policyFiles = new Map<string, string>();
  /** Policies Foreman does not know: their ARF reports get 422. */
  readonly unknownPolicies = new Set<number>();
  /** Katello's `/rhsm` (consumers, activation keys, deleted consumers, profile import delay). */
  readonly rhsm = new KatelloRhsm();
  fault: Fault = {};
  /** Connections accepted and reset while `down()` (each one a delivery attempt). */
  resetConnections = 0;
  /** Requests that arrived, answered or not (`requests` holds those answered). */
  received = 0;
  #inFlight = 0;

  /** Requests being handled (a slow fault holds them): recorded in `requests` once this is 0. */
  get inFlight(): number {
    return this.#inFlight;
  }
  #down = false;
  #server: Server | undefined;
  #port = 0;
  readonly #sockets = new Set<Socket>();
  #nextId = 1;
  readonly #tls: ForemanTls | undefined;

  constructor(options: { tls?: ForemanTls } = {}) {
    this.#tls = options.tls;
  }

  get url(): string {
    return this.#tls ? `https://localhost:${this.#port}` : `http://127.0.0.1:${this.#port}`;
  }

  /** Successful deliveries (2xx) to a path. */
  delivered(path: string): RecordedRequest[] {
    return this.requests.filter((r) => r.path === path && r.status >= 200 && r.status < 300);
  }

  attempts(path: string): number {
    return this.requests.filter((r) => r.path === path).length;
  }

  async start(port = this.#port): Promise<void> {
    const handler = (request: IncomingMessage, response: ServerResponse): void => {
      this.#inFlight += 1;
      void this.#handle(request, response).finally(() => (this.#inFlight -= 1));
    };
    const server: Server = this.#tls ? createHttpsServer({ ...this.#tls, requestCert: true, rejectUnauthorized: true }, handler) : createServer(handler);
    server.on(this.#tls ? 'secureConnection' : 'connection', (socket: Socket) => {
      if (this.#down) {
        this.resetConnections += 1;
        socket.resetAndDestroy();
        return;
      }
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.#port = (server.address() as AddressInfo).port;
    this.#server = server;
  }

  /** Foreman goes away: connections are refused until `start()` is called again. */
  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (!server) return;
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /**
   * Foreman unreachable but countable: every connection is reset at once (as a load balancer
   * with no backend does), so a test can count how often the hub tried. `up()` ends it.
   */
  down(): void {
    this.#down = true;
    for (const socket of this.#sockets) socket.destroy();
  }

  up(): void {
    this.#down = false;
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    this.received += 1;
    const arrivedAt = Date.now();
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    if (this.fault.delayMs) await new Promise((r) => setTimeout(r, this.fault.delayMs));
    const path = (request.url ?? '/').split('?')[0] ?? '/';
    let body: unknown;
    try {
      body = raw.length > 0 ? JSON.parse(raw) : undefined;
    } catch {
      body = undefined;
    }
    if ((path === '/rhsm' || path.startsWith('/rhsm/')) && !this.fault.status) return this.#answerRhsm(request, response, path, raw, body, arrivedAt);
    const refresh = /^\/api\/v2\/smart_proxies\/(\d+)\/refresh$/.exec(path);
    const [status, answer, contentType] = refresh && request.method === 'PUT' && !this.fault.status ? await this.#refresh(Number(refresh[1])) : this.#answer(request, path, body);
    const socket = request.socket as Partial<TLSSocket>;
    const clientCn = socket.encrypted ? (socket.getPeerCertificate?.().subject?.CN as string | undefined) : undefined;
    this.rawUrls.push(request.url ?? '/');
    this.requests.push({ method: request.method ?? '', path, headers: request.headers, raw, body, status, at: Date.now(), arrivedAt, clientCn, answer });
    const textual = contentType === 'text/plain' || contentType === 'application/xml';
    response.writeHead(status, { 'content-type': textual ? `${contentType}; charset=utf-8` : 'application/json; charset=utf-8' });
    response.end(textual ? String(answer) : JSON.stringify(answer));
  }

  /** Katello's answers keep their own status, headers and (possibly empty) body. */
  async #answerRhsm(request: IncomingMessage, response: ServerResponse, path: string, raw: string, body: unknown, arrivedAt: number): Promise<void> {
    const answer = await this.rhsm.answer(request, path, raw);
    const socket = request.socket as Partial<TLSSocket>;
    const clientCn = socket.encrypted ? (socket.getPeerCertificate?.().subject?.CN as string | undefined) : undefined;
    this.rawUrls.push(request.url ?? '/');
    this.requests.push({ method: request.method ?? '', path, headers: request.headers, raw, body, status: answer.status, at: Date.now(), arrivedAt, clientCn, answer: answer.body === '' ? undefined : (JSON.parse(answer.body) as unknown) });
    response.writeHead(answer.status, answer.headers);
    response.end(answer.body);
  }

  #answer(request: IncomingMessage, path: string, body: unknown): [number, unknown, string?] {
    if (this.fault.status) return [this.fault.status, { error: { message: `injected ${this.fault.status}` } }];
    const rendered = this.#templates(request, path);
    if (rendered) return rendered;
    const policyFile = /^\/api\/v2\/compliance\/policies\/(\d+)\/(content|tailoring)$/.exec(path);
    if (policyFile && request.method === 'GET') {
      const file = this.policyFiles.get(`${policyFile[2]}/${policyFile[1]}`);
      return file === undefined ? [404, 'File not found\n', 'text/plain'] : [200, file, 'application/xml'];
    }
    if (request.method !== 'POST') return [404, { error: { message: 'not found' } }];
    if (!String(request.headers['content-type']).startsWith('application/json')) return [415, { error: { message: 'unsupported media type' } }];
    if (path === '/api/v2/hosts/facts' || path === '/api/hosts/facts') return this.#facts(body);
    if (path === '/api/v2/host_reports') return this.#hostReport(body);
    // foreman-tasks' callback API (§2.3): 200 {"message":"processing"}, single or batch form.
    if (path === '/foreman_tasks/api/tasks/callback') return this.#callback(body);
    const arf = /^\/api\/v2\/compliance\/arf_reports\/([^/]+)\/(\d+)\/(\d+)$/.exec(path);
    if (arf) return this.#arfReport(decodeURIComponent(arf[1] ?? ''), Number(arf[2]), body);
    return [404, { error: { message: `no route ${path}` } }];
  }

  /**
   * Registration and templates answer rendered text (foreman-contracts §2.5, §2.6): a shell
   * script naming what Foreman saw, so a test can check the forwarding byte for byte.
   */
  #templates(request: IncomingMessage, path: string): [number, unknown, string] | undefined {
    const url = new URL(request.url ?? '/', 'http://foreman');
    const isRegister = path === '/register';
    if (!isRegister && !path.startsWith('/unattended/') && !path.startsWith('/userdata/')) return undefined;
    if (isRegister && request.method === 'POST' && !/^(application\/json|application\/x-www-form-urlencoded)/.test(String(request.headers['content-type']))) {
      return [415, 'unsupported media type\n', 'text/plain'];
    }
    if (isRegister && !String(request.headers.authorization ?? '').startsWith('Bearer ')) return [401, 'missing registration token\n', 'text/plain'];
    if (path.endsWith('/missing')) return [404, 'template not found\n', 'text/plain'];
    return [200, `#!/bin/sh\n# rendered ${request.method} ${path} url=${url.searchParams.get('url') ?? ''}\necho ok\n`, 'text/plain'];
  }

  /** `PUT …/refresh` requests received (answered), for counting pushes. */
  refreshes(): RecordedRequest[] {
    return this.requests.filter((r) => r.method === 'PUT' && /^\/api\/v2\/smart_proxies\/\d+\/refresh$/.test(r.path));
  }

  async #refresh(id: number): Promise<[number, unknown]> {
    const proxy = this.smartProxies.get(id);
    if (!proxy) return [404, { error: { message: `Resource smart_proxy not found by id '${id}'` } }];
    let reply: Record<string, { state?: string; settings?: unknown; capabilities?: unknown }>;
    try {
      const response = await fetch(`${proxy.url}/v2/features`, { headers: { accept: 'application/json' } });
      reply = (await response.json()) as typeof reply;
    } catch (error) {
      return [422, { error: { full_messages: [`Unable to communicate with the proxy: ${(error as Error).message}`] } }];
    }
    const running = Object.entries(reply).filter(([, entry]) => entry.state === 'running');
    const valid = running.filter(([name]) => FEATURE_NAME_MAP.has(name));
    if (valid.length === 0) {
      const message = running.length > 0 ? `Features "${running.map(([name]) => name).join(', ')}" in this proxy are not recognized by Foreman.` : 'No features found on this proxy, please make sure you enable at least one feature';
      return [422, { error: { full_messages: [message] } }];
    }
    proxy.features = Object.fromEntries(valid.map(([name, entry]) => [FEATURE_NAME_MAP.get(name) as string, { settings: entry.settings, capabilities: entry.capabilities }]));
    return [200, { id, url: proxy.url, features: Object.keys(proxy.features).map((name) => ({ name })) }];
  }

  #facts(body: unknown): [number, unknown] {
    const upload = body as { name?: unknown; facts?: unknown } | undefined;
    if (typeof upload?.name !== 'string' || typeof upload.facts !== 'object' || upload.facts === null) {
      return [422, { error: { message: 'name and facts are required' } }];
    }
    if (this.rejectHosts.has(upload.name)) return [422, { error: { id: null, errors: { base: ['Host is pending for Build'] }, full_messages: ['Host is pending for Build'] } }];
    return [201, { id: this.#nextId++, name: upload.name }];
  }

  /** foreman_openscap's Api::V2::Compliance::ArfReportsController#create, as far as a proxy sees it. */
  #arfReport(cname: string, policyId: number, body: unknown): [number, unknown] {
    const report = body as { logs?: unknown; digest?: unknown; metrics?: { passed?: unknown; failed?: unknown; othered?: unknown } } | undefined;
    const counts = report?.metrics;
    if (!Array.isArray(report?.logs) || typeof report.digest !== 'string' || !/^[0-9a-f]{64}$/.test(report.digest) || typeof counts?.passed !== 'number' || typeof counts.failed !== 'number' || typeof counts.othered !== 'number') {
      return [422, { result: 'fail', errors: 'logs, digest and metrics are required' }];
    }
    if (this.unknownPolicies.has(policyId)) return [422, { result: 'fail', errors: `Policy with id ${policyId} not found.` }];
    if (this.rejectHosts.has(cname)) return [422, { result: 'fail', errors: `Could not find host identified by: ${cname}` }];
    return [200, { result: 'ok', id: String(this.#nextId++) }];
  }

  /** Every REX callback Foreman took, one entry per host (a batch body is split). */
  get callbacks(): RexCallback[] {
    return this.delivered('/foreman_tasks/api/tasks/callback').flatMap((r) => {
      const body = r.body as { callback?: unknown; callbacks?: unknown[] };
      return (body.callbacks ?? [body]) as RexCallback[];
    });
  }

  #callback(body: unknown): [number, unknown] {
    const single = body as { callback?: { task_id?: unknown; step_id?: unknown }; data?: unknown; callbacks?: unknown } | undefined;
    const entries = Array.isArray(single?.callbacks) ? (single.callbacks as Array<typeof single>) : [single];
    if (entries.some((entry) => entry?.callback?.task_id === undefined || entry.callback.step_id === undefined || typeof entry.data !== 'object')) {
      return [422, { error: { message: 'callback.task_id, callback.step_id and data are required' } }];
    }
    return [200, { message: 'processing' }];
  }

  #hostReport(body: unknown): [number, unknown] {
    const report = (body as { host_report?: { host?: unknown; body?: unknown } } | undefined)?.host_report;
    if (typeof report?.host !== 'string') return [422, { error: { message: 'host_report.host is required' } }];
    if (typeof report.body === 'string') {
      try {
        JSON.parse(report.body);
      } catch {
        return [422, { error: { message: 'host_report.body is not JSON' } }];
      }
    }
    if (this.rejectHosts.has(report.host)) return [422, { error: { message: `Host ${report.host} not found` } }];
    return [201, { id: this.#nextId++, host_id: 1 }];
  }
}
