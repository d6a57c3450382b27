/**
 * Runs one script on one host over SSH (ssh2): verify the host key, upload the script, run it,
 * stream its output, stop it on timeout or cancellation, clean up. Never throws: every way a run
 * can end becomes an outcome with an exit status (a number, or EXCEPTION and the reason).
 */
import { StringDecoder } from 'node:string_decoder';
import ssh2, { type ClientChannel, type ServerHostKeyAlgorithm } from 'ssh2';
import type { ErrorCode } from '../../contracts/errors.ts';
import type { ExitStatus } from '../../contracts/rex/job.ts';
import { errorMessage } from '../../contracts/errors.ts';
import type { HostKeyCheck } from './known-hosts.ts';
import { createPromptAnswerer, type PromptAnswerer } from './password-prompt.ts';
import { cleanupCommand, killCommand, promptsForPassword, runCommand, uploadCommand, type CommandSettings } from './remote-command.ts';

export interface SshTarget {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly privateKey: Buffer;
  readonly passphrase?: string | undefined;
  readonly password?: string | undefined;
  readonly connectTimeoutMs: number;
  /** Host-key algorithms to negotiate first (those of the keys known for the host). */
  readonly preferredHostKeyAlgorithms: readonly ServerHostKeyAlgorithm[];
  verifyHostKey(key: Buffer): Promise<HostKeyCheck>;
}

export interface SshScript {
  readonly script: string;
  readonly commands: CommandSettings;
  readonly effectiveUserPassword: string | undefined;
  readonly cleanup: boolean;
  /** 0 or undefined: no limit. */
  readonly timeoutMs: number | undefined;
}

export interface SshRunHooks {
  onOutput(type: 'stdout' | 'stderr' | 'debug', text: string): void;
  /** Polled every second while the script runs. */
  cancelRequested(): Promise<boolean>;
}

export interface SshOutcome {
  readonly exitStatus: ExitStatus;
  readonly code?: ErrorCode;
  readonly reason?: string;
}

const CANCEL_POLL_MS = 1000;

function hostKeyMismatch(target: SshTarget, check: HostKeyCheck): string {
  const what = check.knownTypes.includes(check.offeredType) ? '' : `: it offered an ${check.offeredType} key, known_hosts has ${check.knownTypes.join(', ')}`;
  return `Host key of ${target.host}:${target.port} does not match the known one${what}; if the host was rebuilt, run the job with first_execution or remove the host from known_hosts`;
}

function connect(target: SshTarget): Promise<{ client: ssh2.Client } | { failure: SshOutcome }> {
  return new Promise((resolve) => {
    const client = new ssh2.Client();
    let keyCheck: HostKeyCheck | undefined;
    client.once('ready', () => resolve({ client }));
    client.once('error', (error: Error) => {
      client.end();
      if (keyCheck?.verdict === 'changed') {
        resolve({ failure: { exitStatus: 'EXCEPTION', code: 'PROXYHUB_REX_HOST_KEY_CHANGED', reason: hostKeyMismatch(target, keyCheck) } });
      } else resolve({ failure: { exitStatus: 'EXCEPTION', code: 'PROXYHUB_REX_SSH_FAILED', reason: `Failed to connect to ${target.host}:${target.port} as ${target.user}: ${error.message}` } });
    });
    client.connect({
      host: target.host,
      port: target.port,
      username: target.user,
      privateKey: target.privateKey,
      ...(target.passphrase ? { passphrase: target.passphrase } : {}),
      ...(target.password ? { password: target.password } : {}),
      readyTimeout: target.connectTimeoutMs,
      // ssh2 skips a `prepend` entry already in its list and applies the operations in key order:
      // remove the known ones, then put them in front.
      ...(target.preferredHostKeyAlgorithms.length > 0 ? { algorithms: { serverHostKey: { remove: [...target.preferredHostKeyAlgorithms], prepend: [...target.preferredHostKeyAlgorithms], append: [] } } } : {}),
      keepaliveInterval: 15_000,
      hostVerifier: (key: Buffer, verify: (valid: boolean) => void) => {
        target.verifyHostKey(key).then(
          (check) => {
            keyCheck = check;
            verify(check.verdict !== 'changed');
          },
          () => verify(false),
        );
      },
    });
  });
}

/** How a command ended, as far as the host said: an exit code, or the signal that killed it. */
interface CommandExit {
  readonly code: number | null;
  readonly signal: string | undefined;
}

/** An exec channel, and how its command ended (both null/undefined until the host says). */
interface ExecChannel {
  readonly channel: ClientChannel;
  readonly exit: () => CommandExit;
}

/** What the command reads: these bytes then end of file, end of file at once, or a stdin the caller writes to. */
type Stdin = { readonly text: string } | 'none' | 'kept-open';

/**
 * Opens an exec channel, and inside ssh2's callback listens for how its command ends and hands it
 * its stdin. A quick command's whole answer (the exec's success reply, its output, exit status,
 * end of file and close) can arrive in one read, which ssh2 parses in one go: a listener added
 * after an await would miss the exit status (the output waits in the stream's buffer), and stdin
 * written after it would land on a channel ssh2 has already ended. A loaded worker reads that way.
 */
function exec(client: ssh2.Client, command: string, stdin: Stdin): Promise<ExecChannel> {
  return new Promise((resolve, reject) =>
    client.exec(command, (error, channel) => {
      if (error) return reject(error);
      let exit: CommandExit = { code: null, signal: undefined };
      channel.on('exit', (code: number | null, signal?: string) => {
        exit = { code, signal };
      });
      // A write to a channel the host has closed (a late password answer): the close reports the outcome.
      channel.on('error', () => undefined);
      if (stdin === 'none') channel.end();
      else if (stdin !== 'kept-open') channel.end(stdin.text);
      resolve({ channel, exit: () => exit });
    }),
  );
}

/** Runs a command to completion, feeding `stdin`; resolves with its exit code and stderr. */
async function run(client: ssh2.Client, command: string, stdin?: string): Promise<{ code: number | null; stderr: string }> {
  const { channel, exit } = await exec(client, command, stdin === undefined ? 'none' : { text: stdin });
  return new Promise((resolve) => {
    let stderr = '';
    channel.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    channel.on('data', () => undefined);
    channel.on('close', () => resolve({ code: exit().code, stderr }));
  });
}

/** The prompt this job's command will show (sudo's, with its password) and the answer, or undefined when it shows none. */
function promptToAnswer(job: SshScript): { readonly prompt: string; readonly password: string } | undefined {
  const { passwordPrompt: prompt } = job.commands;
  const password = job.effectiveUserPassword;
  return password && prompt !== undefined && promptsForPassword(job.commands) ? { prompt, password } : undefined;
}

/** Answers sudo's prompt on the channel's stdin. */
function passwordAnswerer(job: SshScript, expected: { readonly prompt: string; readonly password: string }, channel: ClientChannel, hooks: SshRunHooks): PromptAnswerer {
  return createPromptAnswerer(expected.prompt, expected.password, {
    answer: (line) => channel.write(line),
    refused: () => {
      hooks.onOutput('debug', `The effective user's password was not accepted by ${job.commands.method} (it asked again); the script did not run as ${job.commands.effectiveUser ?? 'the effective user'}`);
      channel.end();
    },
  });
}

function streamScript(client: ssh2.Client, job: SshScript, hooks: SshRunHooks, pending: Array<Promise<unknown>>): Promise<SshOutcome> {
  return new Promise((resolve, reject) => {
    // The script itself gets no stdin; sudo gets the password when it asks for it.
    const expected = promptToAnswer(job);
    exec(client, runCommand(job.commands), expected ? 'kept-open' : 'none').then(({ channel, exit }) => {
      const decoders = { stdout: new StringDecoder('utf8'), stderr: new StringDecoder('utf8') };
      let stopping: SshOutcome | undefined;
      const stop = (outcome: SshOutcome, message: string): void => {
        if (stopping) return;
        stopping = outcome;
        hooks.onOutput('debug', message);
        pending.push(run(client, killCommand(job.commands)).catch(() => undefined));
      };
      const timer = job.timeoutMs ? setTimeout(() => stop({ exitStatus: 'EXCEPTION', code: 'PROXYHUB_REX_TIMEOUT', reason: 'execution timeout passed' }, 'Timeout for execution passed, stopping the job'), job.timeoutMs) : undefined;
      const poll = setInterval(() => {
        hooks.cancelRequested().then((cancelled) => cancelled && stop({ exitStatus: 'EXCEPTION', code: 'PROXYHUB_REX_CANCELLED', reason: 'cancelled' }, 'The job was cancelled, stopping the script'), () => undefined);
      }, CANCEL_POLL_MS);
      channel.on('data', (chunk: Buffer) => {
        const text = decoders.stdout.write(chunk);
        if (text) hooks.onOutput('stdout', text);
      });
      const prompt = expected && passwordAnswerer(job, expected, channel, hooks);
      channel.stderr.on('data', (chunk: Buffer) => {
        const decoded = decoders.stderr.write(chunk);
        const text = prompt ? prompt.filter(decoded) : decoded;
        if (text) hooks.onOutput('stderr', text);
      });
      channel.on('close', () => {
        clearTimeout(timer);
        clearInterval(poll);
        const stdoutRest = decoders.stdout.end();
        if (stdoutRest) hooks.onOutput('stdout', stdoutRest);
        const stderrRest = prompt ? prompt.filter(decoders.stderr.end()) + prompt.flush() : decoders.stderr.end();
        if (stderrRest) hooks.onOutput('stderr', stderrRest);
        const { code, signal } = exit();
        if (stopping) resolve(stopping);
        else if (code === null) {
          // Said in the output too, as every other EXCEPTION is: Foreman shows the output, not the reason.
          const reason = signal === undefined ? 'the connection closed before the script reported an exit status' : `the script was killed by ${signal}`;
          hooks.onOutput('debug', reason);
          resolve({ exitStatus: 'EXCEPTION', code: 'PROXYHUB_REX_SSH_FAILED', reason });
        } else resolve({ exitStatus: code });
      });
    }, reject);
  });
}

export async function runOverSsh(target: SshTarget, job: SshScript, hooks: SshRunHooks): Promise<SshOutcome> {
  const connected = await connect(target);
  if ('failure' in connected) {
    hooks.onOutput('debug', connected.failure.reason ?? 'connection failed');
    return connected.failure;
  }
  const { client } = connected;
  // A kill still escalating (TERM, then KILL) must finish before the connection closes.
  const pending: Array<Promise<unknown>> = [];
  try {
    const upload = await run(client, uploadCommand(job.commands), job.script);
    if (upload.code !== 0) {
      const reason = `Could not upload the script to ${job.commands.directory}: ${upload.stderr.trim() || `exit ${upload.code}`}`;
      hooks.onOutput('debug', reason);
      return { exitStatus: 'EXCEPTION', code: 'PROXYHUB_REX_SSH_FAILED', reason };
    }
    return await streamScript(client, job, hooks, pending);
  } catch (error) {
    const reason = `SSH session to ${target.host} failed: ${errorMessage(error)}`;
    hooks.onOutput('debug', reason);
    return { exitStatus: 'EXCEPTION', code: 'PROXYHUB_REX_SSH_FAILED', reason };
  } finally {
    await Promise.all(pending);
    if (job.cleanup) await run(client, cleanupCommand(job.commands)).catch(() => undefined);
    client.end();
  }
}
