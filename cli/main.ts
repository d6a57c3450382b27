/**
 * The `proxyhub` command line: `start`, `config check`, `dlq list|show|replay`, `capabilities`, `jobs list|show`.
 */
import { parseArgs } from 'node:util';
import { errorMessage } from '../contracts/errors.ts';
import { deadLetterService, formatTable, replayProgressBar } from './dlq.ts';
import { runBrokerSetup } from './broker-setup-command.ts';
import { runCapabilities } from './capabilities.ts';
import { runConfigCheck } from './config-check.ts';
import { runJobs } from './jobs.ts';
import { runStart } from './start.ts';
import { packageVersion } from './version.ts';

const USAGE = `proxyhub ${packageVersion}

usage:
  proxyhub start [--role all|ingress|control|worker:<feature>[,...]]   run the hub (default role: all)
  proxyhub config check [--role ...]                                  validate config, print the deployment plan
  proxyhub dlq list [--feature F] [--limit N] [--json]                list dead letters
  proxyhub dlq show <event-id> [--feature F]                          show one dead letter in full
  proxyhub dlq replay (--id <event-id>... | --all) [--feature F]      send dead letters back to their work queue
  proxyhub capabilities [--watch] [--json]                            live features and instances; --watch prints each change
  proxyhub jobs list [--state running|stopped|all] [--limit N] [--json]  REX jobs (one per host), newest first
  proxyhub jobs show <plan-uuid>                                      one REX job with its output (secrets left out)
  proxyhub broker setup [--print] [--roles R,...] [--vhost V] [--password role=secret]... [--out FILE]
                                                                      per-role RabbitMQ and Redis accounts, and the topology

Configuration: a YAML file named by PROXYHUB_CONFIG, each key overridable by a PROXYHUB_* variable (see README).`;

const options = {
  role: { type: 'string', default: 'all' },
  feature: { type: 'string' },
  state: { type: 'string' },
  limit: { type: 'string' },
  json: { type: 'boolean', default: false },
  id: { type: 'string', multiple: true },
  all: { type: 'boolean', default: false },
  watch: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
  print: { type: 'boolean', default: false },
  roles: { type: 'string' },
  vhost: { type: 'string' },
  password: { type: 'string', multiple: true },
  out: { type: 'string' },
  rabbitmqctl: { type: 'string' },
  // Internal: a child of a supervised `start` (cli/supervisor.ts), not for operators.
  supervised: { type: 'boolean', default: false },
} as const;

async function runDlq(action: string | undefined, rest: string[], values: ReturnType<typeof parse>['values']): Promise<number> {
  const common = { feature: values.feature, limit: values.limit === undefined ? undefined : Number(values.limit) };
  switch (action) {
    case 'list': {
      const rows = await deadLetterService().list(common);
      process.stdout.write(`${values.json ? JSON.stringify(rows, null, 2) : formatTable(rows)}\n`);
      return 0;
    }
    case 'show': {
      const id = rest[0];
      if (!id) throw new Error('dlq show needs an event id');
      const found = await deadLetterService().show(id, common);
      if (!found) {
        process.stderr.write(`no dead letter with id ${id}\n`);
        return 1;
      }
      process.stdout.write(`${JSON.stringify(found, null, 2)}\n`);
      return 0;
    }
    case 'replay': {
      if (!values.all && (values.id === undefined || values.id.length === 0)) throw new Error('name the events to replay with --id (repeatable) or pass --all');
      const { replayed, kept } = await deadLetterService().replay({ ...common, ids: values.id, all: values.all }, replayProgressBar());
      process.stdout.write(`replayed ${replayed}, left ${kept} in the dead-letter queue\n`);
      return 0;
    }
    default:
      throw new Error(`unknown dlq action ${action ?? '(none)'}: use list, show or replay`);
  }
}

function parse(args: string[]) {
  return parseArgs({ args, options, allowPositionals: true, strict: true });
}

export async function main(args: string[]): Promise<number> {
  try {
    const { values, positionals } = parse(args);
    const [command, sub, ...rest] = positionals;
    if (values.help || command === undefined || command === 'help') {
      process.stdout.write(`${USAGE}\n`);
      return command === undefined && !values.help ? 1 : 0;
    }
    switch (command) {
      case 'start':
        return await runStart(values.role, { supervised: values.supervised });
      case 'config':
        if (sub !== 'check') throw new Error('usage: proxyhub config check [--role ...]');
        return await runConfigCheck(values.role);
      case 'dlq':
        return await runDlq(sub, rest, values);
      case 'capabilities':
        return await runCapabilities({ watch: values.watch, json: values.json });
      case 'jobs':
        return await runJobs(sub, rest, { state: values.state, limit: values.limit, json: values.json });
      case 'broker':
        if (sub !== 'setup') throw new Error('usage: proxyhub broker setup [--print] ...');
        return await runBrokerSetup(values);
      case 'version':
        process.stdout.write(`${packageVersion}\n`);
        return 0;
      default:
        throw new Error(`unknown command ${command}\n\n${USAGE}`);
    }
  } catch (error) {
    process.stderr.write(`proxyhub: ${errorMessage(error)}\n`);
    return (error as { code?: string }).code === 'PROXYHUB_CONFIG_INVALID' ? 2 : 1;
  }
}
