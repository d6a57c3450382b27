/**
 * Steady uploads (facts unless told otherwise) from a few clients at once, every outcome recorded
 * (status, latency, Retry-After), for the fault tests that break something under load and then
 * check that every 202 reached Foreman and every refusal was a prompt 503.
 */
export interface UploadOutcome {
  readonly name: string;
  readonly status: number;
  readonly ms: number;
  readonly retryAfter: string | null;
}

export interface UploadStreamOptions {
  readonly clients: number;
  /** Host names are `<prefix>-<n>.example.com`, one per upload. */
  readonly namePrefix: string;
  /** An upload not answered by then counts as status -1. */
  readonly timeoutMs: number;
  /** Pause after an upload, by whether it was accepted: a steady load, not a flood. */
  readonly pauseMs: (status: number) => number;
  /** What one upload sends, given its unique host name. @defaultValue {@link factsUpload} */
  readonly upload?: (name: string, sequence: number) => UploadRequest;
}

export interface UploadRequest {
  readonly path: string;
  readonly contentType: string;
  readonly body: string;
}

/** A facts upload for host `name`. */
export function factsUpload(name: string, sequence: number): UploadRequest {
  return { path: '/api/v2/hosts/facts', contentType: 'application/json', body: JSON.stringify({ name, facts: { n: sequence } }) };
}

export function uploadStreams(ingressUrl: string, options: UploadStreamOptions): { outcomes: UploadOutcome[]; stop(): Promise<void> } {
  const outcomes: UploadOutcome[] = [];
  const upload = options.upload ?? factsUpload;
  let running = true;
  let sequence = 0;
  const stream = async (): Promise<void> => {
    while (running) {
      const name = `${options.namePrefix}-${sequence++}.example.com`;
      const request = upload(name, sequence);
      const started = performance.now();
      let status = 0;
      let retryAfter: string | null = null;
      try {
        const response = await fetch(`${ingressUrl}${request.path}`, { method: 'POST', headers: { 'content-type': request.contentType }, body: request.body, signal: AbortSignal.timeout(options.timeoutMs) });
        status = response.status;
        retryAfter = response.headers.get('retry-after');
        await response.arrayBuffer();
      } catch {
        status = -1;
      }
      outcomes.push({ name, status, ms: performance.now() - started, retryAfter });
      const pause = options.pauseMs(status);
      if (pause > 0) await new Promise((resolve) => setTimeout(resolve, pause));
    }
  };
  const streams = Array.from({ length: options.clients }, stream);
  return {
    outcomes,
    async stop() {
      running = false;
      await Promise.all(streams);
    },
  };
}
