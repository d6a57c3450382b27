import { spawn } from 'node:child_process';
import type { Config } from '../../hub/config/schema.ts';
import { REPO_ROOT, childEnvironment } from './hub-harness.ts';

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the real `proxyhub` command with the test's configuration in its environment. */
export function runCli(config: Config, args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/proxyhub.mjs', ...args], { cwd: REPO_ROOT, env: childEnvironment(config, extraEnv), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}
