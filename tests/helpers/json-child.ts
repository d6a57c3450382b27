/**
 * A TypeScript helper script run in a process of its own, which prints one JSON document: for
 * what only a fresh process shows (process-wide V8 flags, a process's own priority or session).
 */
import { spawn } from 'node:child_process';

export interface JsonChildOptions {
  /** Node flags before the script (the hub's launch flags, say). */
  readonly nodeFlags?: readonly string[];
  /** In a session of its own, as a supervised role is. */
  readonly ownSession?: boolean;
}

/** Runs `node [flags] --import tsx <script> <args>` and resolves with what it printed, parsed. */
export function runJsonChild<T>(script: string, args: readonly string[], options: JsonChildOptions = {}): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...(options.nodeFlags ?? []), '--import', 'tsx', script, ...args], {
      detached: options.ownSession ?? false,
      stdio: ['ignore', 'pipe', 'pipe'],
      // No coverage from this tsx-compiled process: mixed with the tests' esbuild-compiled one it garbles the report (see childEnvironment in tests/helpers/hub-harness.ts).
      env: { ...process.env, _TAPJS_PROCESSINFO_COVERAGE_: '0' },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as T) : reject(new Error(`${script} exited ${code}: ${err}`))));
  });
}
