/**
 * The help of every `proxyhub` command: `proxyhub help <command>` and `proxyhub <command> --help`
 * print one entry, `proxyhub help` all synopses. The README's CLI reference says the same.
 */
import { exitCodeTable } from './exit-codes.ts';

export const commandNames = ['start', 'config', 'status', 'capabilities', 'dlq', 'jobs', 'broker', 'version', 'help'] as const;
export type CommandName = (typeof commandNames)[number];

export interface CommandHelp {
  readonly synopsis: readonly string[];
  readonly summary: string;
  readonly details: string;
}

const JSON_NOTE = '--json prints the result as JSON on stdout (one document; with --watch, one per line).';

export const commandHelp: Readonly<Record<CommandName, CommandHelp>> = {
  start: {
    synopsis: ['proxyhub start [--role all|ingress|control|worker:<feature>[,...]]'],
    summary: 'run the hub (default role: all)',
    details: `Runs the roles named (comma-separated) in this process; \`all\` supervises one child per role group.
Worker features: facts, reports, openscap, registration, container_gateway, rex.
Logs are JSON lines on stdout already (pino); --json changes nothing here.
Stops gracefully on SIGTERM or SIGINT. Exits 2 before touching the broker when the configuration is invalid or unsafe.`,
  },
  config: {
    synopsis: ['proxyhub config check [--role ...] [--json]'],
    summary: 'check: validate the configuration and print the deployment plan',
    details: `Prints which role listens where, the routes each listener serves with their checks, and the upstreams each part reaches.
Exits 2 (with every problem listed) when the configuration is invalid or unsafe for the roles given.
${JSON_NOTE}`,
  },
  status: {
    synopsis: ['proxyhub status [--json]'],
    summary: 'live roles, features and listeners, broker and Redis health, queue and dead-letter depths',
    details: `Reads the capability stream (which processes are alive, with their roles, versions and listeners), checks the broker and Redis,
and counts each feature's work queue and dead letters and the REX jobs. Needs no running control process.
Exits 4 when something needs attention: the broker or Redis down (each probe gives up after 5 s), an expected feature (PROXYHUB_FEATURES)
with no live instance, dead letters waiting.
${JSON_NOTE}`,
  },
  capabilities: {
    synopsis: ['proxyhub capabilities [--watch] [--json]'],
    summary: 'live features and instances; --watch prints each change until interrupted',
    details: `Read straight from the capability stream with the control role's own registry.
${JSON_NOTE}`,
  },
  dlq: {
    synopsis: [
      'proxyhub dlq list [--feature F] [--code C] [--type T] [--status N] [--since WHEN] [--limit N] [--json]',
      'proxyhub dlq show <event-id> [--feature F] [--json]',
      'proxyhub dlq replay (--id <event-id>... | --all) [--feature F] [--code C] [--type T] [--status N] [--since WHEN] [--json]',
    ],
    summary: 'list, show and replay dead letters',
    details: `Filters: --feature (facts, reports, openscap), --code (catalog code, e.g. PROXYHUB_FOREMAN_REJECTED), --type (event type),
--status (Foreman's HTTP status), --since (an ISO time, or an age such as 30m, 2h, 7d). Filters narrow list, and replay --all.
Browsing takes nothing away: what is not replayed goes back to the queue, even when interrupted.
replay shows a progress bar per feature on stderr and puts each event back into its work queue with a fresh attempt count.
show exits 3 when no dead letter has the id. ${JSON_NOTE}`,
  },
  jobs: {
    synopsis: [
      'proxyhub jobs list [--state running|stopped|all] [--limit N] [--json]',
      'proxyhub jobs show <plan-uuid> [--json]',
      'proxyhub jobs cancel <plan-uuid|batch-uuid> [--json]',
    ],
    summary: 'list, show and cancel REX jobs (one per host, as they are in Redis)',
    details: `show prints one job with its output (secrets left out).
cancel stops a job, or every job of a batch, as Foreman's cancel does: the worker running it stops the script and Foreman is told the job ended (EXCEPTION).
show and cancel exit 3 when there is no such job; cancel of a job that already ended changes nothing and exits 0.
${JSON_NOTE}`,
  },
  broker: {
    synopsis: ['proxyhub broker setup [--print] [--roles R,...] [--vhost V] [--password role=secret]... [--out FILE] [--rabbitmqctl PATH] [--json]'],
    summary: 'setup: per-role RabbitMQ and Redis accounts, and the topology',
    details: `Without --print: creates or updates the accounts with rabbitmqctl, sets their Redis ACLs, declares the topology,
and writes each role's URLs (with passwords) to FILE (mode 0600; default proxyhub-accounts.env).
With --print: prints the commands instead (passwords shown once). ${JSON_NOTE}`,
  },
  version: {
    synopsis: ['proxyhub version [--json]', 'proxyhub --version'],
    summary: 'print proxyhub’s version',
    details: JSON_NOTE,
  },
  help: {
    synopsis: ['proxyhub help [<command>]', 'proxyhub <command> --help'],
    summary: 'this help, or one command’s',
    details: '',
  },
};

export function isCommandName(name: string): name is CommandName {
  return (commandNames as readonly string[]).includes(name);
}

export function generalHelp(version: string): string {
  const lines = commandNames.map((name) => `  ${name.padEnd(14)}${commandHelp[name].summary}`);
  return `proxyhub ${version}

usage: proxyhub <command> [options]

commands:
${lines.join('\n')}

\`proxyhub help <command>\` (or \`proxyhub <command> --help\`) shows a command's options. Every command
takes --json. Configuration: a YAML file named by PROXYHUB_CONFIG, each key overridable by a
PROXYHUB_* variable (see README).

exit codes:
${exitCodeTable()}`;
}

export function commandHelpText(name: CommandName): string {
  const help = commandHelp[name];
  return `${help.synopsis.map((line) => `usage: ${line}`).join('\n')}

${help.summary}
${help.details === '' ? '' : `\n${help.details}\n`}
exit codes:
${exitCodeTable()}`;
}
