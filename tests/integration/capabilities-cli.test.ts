/**
 * `proxyhub capabilities [--watch]`: the table read from the stream (no control process), and one
 * line per change while watching.
 */
import { spawn } from 'node:child_process';
import t from 'tap';
import { childEnvironment, REPO_ROOT, testConfig } from '../helpers/hub-harness.ts';
import { runCli } from '../helpers/cli.ts';
import { startForemanFor } from '../helpers/hub-with-foreman.ts';
import { spawnHubFor, usePrefix } from '../helpers/test-hub.ts';
import { waitFor } from '../helpers/wait-for.ts';

// Hub processes start here one after another; at the parallel suite's outset one start has taken
// over 30 s, and spawnHub waits up to 65 s: tap's 180 s per file would cut such a run short.
t.setTimeout(300_000);

t.test('capabilities prints the live table, --watch each change', async (t) => {
  const foreman = await startForemanFor(t);
  const config = testConfig(usePrefix(t), foreman.url, { capabilities: { heartbeatMs: 300 } });
  await spawnHubFor(t, config, 'worker:registration');

  const once = await runCli(config, ['capabilities']);
  t.equal(once.code, 0, once.stderr);
  t.match(once.stdout, /^registration\s+running\s+yes\s+1/m);
  t.match(once.stdout, /^templates\s+running\s+yes\s+1\s+-\s+\{"template_url":null\}/m);
  t.match(once.stdout, /worker:registration/);

  const json = await runCli(config, ['capabilities', '--json']);
  t.equal((JSON.parse(json.stdout) as { features: Partial<Record<string, { state: string }>> }).features.registration?.state, 'running');

  const watch = spawn(process.execPath, ['bin/proxyhub.mjs', 'capabilities', '--watch'], { cwd: REPO_ROOT, env: childEnvironment(config), stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  watch.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  watch.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => watch.once('exit', resolve));
  t.teardown(() => void watch.kill('SIGKILL'));
  await waitFor(() => output.includes('watching for changes'), { timeoutMs: 30_000, what: 'the watch to start' });
  const reports = await spawnHubFor(t, config, 'worker:reports');
  await waitFor(() => /\sreports\s+up \(announced\)\s+running/.test(output), { what: 'the reports change line' });
  await reports.stop('SIGTERM');
  await waitFor(() => /\sreports\s+down \(withdrawn\)\s+no live instance/.test(output), { what: 'the withdrawal line' });
  watch.kill('SIGINT');
  t.equal(await exited, 0, 'Ctrl-C ends the watch cleanly');
});
