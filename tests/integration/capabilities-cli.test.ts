/**
 * `proxyhub capabilities [--watch]`: the table read from the stream (no control process), and one
 * line per change while watching.
 */
import { spawn } from 'node:child_process';
import t from 'tap';
import { deleteTopology, hubEnvironment, REPO_ROOT, spawnHub, testConfig, testPrefix } from '../helpers/hub-harness.ts';
import { runCli } from '../helpers/cli.ts';
import { TestForeman } from '../helpers/test-foreman.ts';
import { waitFor } from '../helpers/wait-for.ts';

t.test('capabilities prints the live table, --watch each change', async (t) => {
  const foreman = new TestForeman();
  await foreman.start();
  const prefix = testPrefix();
  const config = testConfig(prefix, foreman.url, { capabilities: { heartbeatMs: 300 } });
  const worker = await spawnHub(config, 'worker:registration');
  const children = [worker];
  t.teardown(async () => {
    for (const child of children) await child.stop('SIGKILL');
    await foreman.stop();
    await deleteTopology(prefix);
  });

  const once = await runCli(config, ['capabilities']);
  t.equal(once.code, 0, once.stderr);
  t.match(once.stdout, /^registration\s+running\s+yes\s+1/m);
  t.match(once.stdout, /^templates\s+running\s+yes\s+1\s+-\s+\{"template_url":null\}/m);
  t.match(once.stdout, /worker:registration/);

  const json = await runCli(config, ['capabilities', '--json']);
  t.equal((JSON.parse(json.stdout) as { features: Partial<Record<string, { state: string }>> }).features.registration?.state, 'running');

  const watch = spawn(process.execPath, ['bin/proxyhub.mjs', 'capabilities', '--watch'], { cwd: REPO_ROOT, env: hubEnvironment(config), stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  watch.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  watch.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => watch.once('exit', resolve));
  t.teardown(() => void watch.kill('SIGKILL'));
  await waitFor(() => output.includes('watching for changes'), { timeoutMs: 30_000, what: 'the watch to start' });
  const reports = await spawnHub(config, 'worker:reports');
  children.push(reports);
  await waitFor(() => /\sreports\s+up \(announced\)\s+running/.test(output), { what: 'the reports change line' });
  await reports.stop('SIGTERM');
  await waitFor(() => /\sreports\s+down \(withdrawn\)\s+no live instance/.test(output), { what: 'the withdrawal line' });
  watch.kill('SIGINT');
  t.equal(await exited, 0, 'Ctrl-C ends the watch cleanly');
});
