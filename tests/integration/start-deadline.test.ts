/**
 * A start that cannot finish says why and ends: against a "broker" that accepts TCP and never
 * answers (a wedged or overloaded node), `proxyhub start` logs what it waits for and exits
 * non-zero at its deadline, and a stop signal during start-up ends it within the grace.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server, type Socket } from 'node:net';
import t, { type Test } from 'tap';
import type { Config } from '../../hub/config/schema.ts';
import { REPO_ROOT, deleteTopology, childEnvironment, testConfig, testPrefix } from '../helpers/hub-harness.ts';
import { waitFor } from '../helpers/wait-for.ts';

interface SilentBroker {
  readonly url: string;
  /** Bytes the hub sent (its protocol header): proof it is waiting on this listener. */
  received(): number;
  close(): Promise<void>;
}

/** Accepts connections and reads what arrives, but never writes a byte back. */
async function silentBroker(): Promise<SilentBroker> {
  const sockets = new Set<Socket>();
  let received = 0;
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('data', (chunk: Buffer) => (received += chunk.length));
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    url: `amqp://guest:stand-in-secret@127.0.0.1:${address.port}`,
    received: () => received,
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

interface StartingHub {
  readonly child: ChildProcess;
  output(): string;
  /** The exit code, or 'still running' after `ms` (the process is then killed). */
  exitWithin(ms: number): Promise<number | null | 'still running'>;
}

/** Starts `proxyhub start` without waiting for it to finish starting (spawnHub waits). */
function spawnStart(t: Test, config: Config, roles: string, extraEnv: NodeJS.ProcessEnv = {}): StartingHub {
  const child = spawn(process.execPath, ['bin/proxyhub.mjs', 'start', '--role', roles], { cwd: REPO_ROOT, env: childEnvironment(config, { PROXYHUB_LOG_LEVEL: 'info', ...(roles === 'ingress' ? { PROXYHUB_FOREMAN_URL: '' } : {}), ...extraEnv }), stdio: ['ignore', 'pipe', 'pipe'] });
  const chunks: string[] = [];
  child.stdout?.on('data', (chunk: Buffer) => chunks.push(chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => chunks.push(chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  // A failed assertion must not leave a hub running behind the test.
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return {
    child,
    output: () => chunks.join(''),
    async exitWithin(ms) {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'still running'>((resolve) => (timer = setTimeout(() => resolve('still running'), ms)));
      const outcome = await Promise.race([exited, late]);
      clearTimeout(timer);
      if (outcome === 'still running') {
        child.kill('SIGKILL');
        await exited;
      }
      return outcome;
    },
  };
}

t.test('a broker that never answers: the start logs its wait and exits non-zero at the deadline', async (t) => {
  const broker = await silentBroker();
  t.teardown(() => broker.close());
  const config = testConfig(testPrefix(), 'https://foreman.invalid', { amqpUrl: broker.url });
  const hub = spawnStart(t, config, 'ingress', { PROXYHUB_START_TIMEOUT_MS: '2000' });
  const bound = 2000 + config.worker.shutdownGraceMs + 5000;
  // Node's own start-up (seconds on a busy machine) comes on top: the bound runs from the
  // process's first log line.
  const code = await hub.exitWithin(bound + 10_000);
  const exitedAt = Date.now();
  const output = hub.output();
  t.not(code, 'still running', `exited by itself (output: ${output.slice(-2000)})`);
  t.not(code, 0, 'exit status says the start failed');
  const startingAt = (JSON.parse(output.split('\n')[0] ?? '{}') as { time?: number }).time ?? 0;
  t.ok(exitedAt - startingAt < bound, `within the deadline plus the close grace (${exitedAt - startingAt} ms of ${bound})`);
  const port = new URL(broker.url).port;
  t.match(output, new RegExp(`still waiting for .*broker at amqp://guest:\\*\\*\\*@127\\.0\\.0\\.1:${port}`), 'the periodic line names the broker it waits for');
  t.match(output, /PROXYHUB_START_TIMEOUT/, 'the failure carries its catalog code');
  t.match(output, /did not finish within 2000 ms/, 'and says which deadline passed');
  t.notMatch(output, /stand-in-secret/, 'the broker password is never logged');
});

t.test('SIGTERM while a broker call hangs ends the start within the grace', async (t) => {
  const broker = await silentBroker();
  t.teardown(() => broker.close());
  const config = testConfig(testPrefix(), 'https://foreman.invalid', { amqpUrl: broker.url });
  const hub = spawnStart(t, config, 'ingress', { PROXYHUB_START_TIMEOUT_MS: '60000' });
  await waitFor(() => broker.received() > 0 || hub.child.exitCode !== null, { timeoutMs: 20_000, what: 'the hub to open its broker connection' });
  const signalledAt = Date.now();
  hub.child.kill('SIGTERM');
  const code = await hub.exitWithin(config.worker.shutdownGraceMs + 2000);
  t.equal(code, 0, `a requested stop exits cleanly (output: ${hub.output().slice(-2000)})`);
  t.ok(Date.now() - signalledAt < config.worker.shutdownGraceMs, 'within the shutdown grace');
  t.match(hub.output(), /start interrupted by SIGTERM/, 'the log says the start was interrupted, and by what');
  t.notMatch(hub.output(), /proxyhub started/);
});

t.test('SIGINT during a normal start (real broker) ends it at once and cleanly', async (t) => {
  const prefix = testPrefix();
  t.teardown(() => deleteTopology(prefix));
  const config = testConfig(prefix, 'https://foreman.invalid');
  const hub = spawnStart(t, config, 'ingress');
  await waitFor(() => hub.output().includes('proxyhub starting') || hub.child.exitCode !== null, { timeoutMs: 20_000, what: 'the start to begin' });
  const signalledAt = Date.now();
  hub.child.kill('SIGINT');
  const code = await hub.exitWithin(config.worker.shutdownGraceMs + 5000);
  t.equal(code, 0, `exits 0 (output: ${hub.output().slice(-2000)})`);
  t.ok(Date.now() - signalledAt < config.worker.shutdownGraceMs, 'within the shutdown grace');
  t.match(hub.output(), /start interrupted by SIGINT/);
  t.notMatch(hub.output(), /proxyhub started/, 'the start did not carry on to the end');
});
