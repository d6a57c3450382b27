/**
 * The per-host rate limit on an ingress of two processes (`PROXYHUB_INGRESS_PROCESSES=2`): each
 * upload comes on a new connection, so the uploads go to the two processes in turn, and the host
 * still gets its limit once, not once per process (hub/http/host-rate-counts.ts, relayed by the
 * primary). On plain HTTP with anonymous uploads the host is its address, the same for all.
 */
import t from 'tap';
import { fixedTestPort, testConfig } from '../helpers/hub-harness.ts';
import { factsAnswerPids } from '../helpers/hub-log.ts';
import { uploadFactsOnNewConnection } from '../helpers/ingress-connection.ts';
import { spawnHubFor, usePrefix } from '../helpers/test-hub.ts';

const prefix = usePrefix(t);
const LIMIT = 8;
const INGRESS_PORT = fixedTestPort();
const config = testConfig(prefix, 'http://127.0.0.1:9', {
  foreman: {},
  ingress: { host: '127.0.0.1', port: INGRESS_PORT },
  limits: { ratePerMinute: LIMIT, maxEventLoopDelayMs: 0, maxEventLoopUtilization: 0, ingressProcesses: 2 },
});
const ingress = await spawnHubFor(t, config, 'ingress');

/** Longer than the processes take to tell each other their counts (100 ms). */
const pause = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 250));

t.test('a host reaching both processes gets its limit once', async (t) => {
  const answers: Array<{ status: number; code: string | undefined }> = [];
  for (let i = 0; i < LIMIT + 4; i += 1) {
    answers.push(await uploadFactsOnNewConnection(INGRESS_PORT, 'limited.example.com', { attempt: i }));
    await pause();
  }
  t.comment(`answers: ${answers.map((answer) => answer.status).join(', ')}`);
  t.same(answers.slice(0, LIMIT).map((answer) => answer.status), Array(LIMIT).fill(202), `the first ${LIMIT} are accepted`);
  t.same(answers.slice(LIMIT).map((answer) => answer.code), Array(4).fill('PROXYHUB_RATE_LIMITED'), 'then every one is refused, whichever process it reaches');
  t.equal(new Set(factsAnswerPids(ingress)).size, 2, 'the uploads reached both processes');
});
