/**
 * The `proxyhub` command line: `start`, `config check`, `status`, `capabilities`, `dlq`, `jobs`,
 * `broker setup`, `version` and `help`. Every command takes `--help` and `--json`, and exits with
 * the codes of exit-codes.ts.
 */
import { parseArgs } from 'node:util';
import { errorMessage, isProxyhubError } from '../contracts/errors.ts';
import { commandHelpText, generalHelp, isCommandName, type CommandName } from './command-help.ts';
import { exitCodes, usageError } from './exit-codes.ts';
import { packageVersion } from './version.ts';

const options = {
  role: { type: 'string', default: 'all' },
  feature: { type: 'string' },
  code: { type: 'string' },
  type: { type: 'string' },
  status: { type: 'string' },
  since: { type: 'string' },
  state: { type: 'string' },
  limit: { type: 'string' },
  json: { type: 'boolean', default: false },
  id: { type: 'string', multiple: true },
  all: { type: 'boolean', default: false },
  watch: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
  version: { type: 'boolean', short: 'V', default: false },
  print: { type: 'boolean', default: false },
  roles: { type: 'string' },
  vhost: { type: 'string' },
  password: { type: 'string', multiple: true },
  out: { type: 'string' },
  rabbitmqctl: { type: 'string' },
  // Internal: a child of a supervised `start` (cli/supervisor.ts), not for operators.
  supervised: { type: 'boolean', default: false },
} as const;

type Values = ReturnType<typeof parse>['values'];

function parse(args: string[]) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    // node:util names the option it refused; anything it refuses is a usage error.
    throw usageError(errorMessage(error).replace(/\. To specify a positional argument.*$/s, ''));
  }
}

const print = (text: string): void => void process.stdout.write(`${text}\n`);

function version(json: boolean): number {
  print(json ? JSON.stringify({ version: packageVersion }) : packageVersion);
  return exitCodes.ok.code;
}

function help(topic: string | undefined): number {
  if (topic === undefined) print(generalHelp(packageVersion));
  else if (isCommandName(topic)) print(commandHelpText(topic));
  else throw usageError(`no command ${topic}`);
  return exitCodes.ok.code;
}

/** Each command loads its own modules: `start --role ingress` never carries BullMQ or the job CLI. */
async function run(command: CommandName, sub: string | undefined, rest: string[], values: Values): Promise<number> {
  switch (command) {
    case 'start':
      return (await import('./start.ts')).runStart(values.role, { supervised: values.supervised });
    case 'config':
      if (sub !== 'check') throw usageError('use: proxyhub config check [--role ...]');
      return (await import('./config-check.ts')).runConfigCheck(values.role, { json: values.json });
    case 'status':
      return (await import('./status.ts')).runStatus({ json: values.json });
    case 'capabilities':
      return (await import('./capabilities.ts')).runCapabilities({ watch: values.watch, json: values.json });
    case 'dlq':
      return (await import('./dlq.ts')).runDlq(sub, rest, values);
    case 'jobs':
      return (await import('./jobs.ts')).runJobs(sub, rest, { state: values.state, limit: values.limit, json: values.json });
    case 'broker':
      if (sub !== 'setup') throw usageError('use: proxyhub broker setup [--print] ...');
      return (await import('./broker-setup-command.ts')).runBrokerSetup(values);
    case 'version':
      return version(values.json);
    case 'help':
      return help(sub);
    default: {
      const unhandled: never = command;
      throw usageError(`unknown command ${String(unhandled)}`);
    }
  }
}

/** Invalid input (a command line, a filter, an unknown --feature) and invalid configuration exit 2. */
function exitCodeOf(error: unknown): number {
  if (isProxyhubError(error) && (error.code === 'PROXYHUB_CONFIG_INVALID' || error.code === 'PROXYHUB_INPUT_INVALID')) return exitCodes.usage.code;
  return exitCodes.failed.code;
}

function report(error: unknown, json: boolean, command: CommandName | undefined): number {
  const code = exitCodeOf(error);
  if (json) process.stderr.write(`${JSON.stringify({ error: errorMessage(error), exitCode: code })}\n`);
  else {
    const usage = isProxyhubError(error) && error.code === 'PROXYHUB_INPUT_INVALID';
    process.stderr.write(`proxyhub: ${errorMessage(error)}${usage ? `\n(see: proxyhub help${command === undefined || command === 'help' ? '' : ` ${command}`})` : ''}\n`);
  }
  return code;
}

export async function main(args: string[]): Promise<number> {
  let json = args.includes('--json');
  let known: CommandName | undefined;
  try {
    const { values, positionals } = parse(args);
    json = values.json;
    const [command, sub, ...rest] = positionals;
    if (values.version && command === undefined) return version(values.json);
    if (command === undefined) {
      print(generalHelp(packageVersion));
      return values.help ? exitCodes.ok.code : exitCodes.usage.code;
    }
    if (!isCommandName(command)) throw usageError(`unknown command ${command}`);
    known = command;
    if (values.help) return help(command === 'help' ? sub : command);
    return await run(command, sub, rest, values);
  } catch (error) {
    return report(error, json, known);
  }
}
