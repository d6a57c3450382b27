/** The `broker setup` command line: options in, accounts printed or applied. */
import { createTopology } from '../contracts/topology.ts';
import { brokerUrls } from '../hub/bus/broker-urls.ts';
import { loadConfig } from '../hub/config/load.ts';
import { applyAccounts, parsePasswords, parseRoleList, planAccounts, printedLines } from './broker-setup.ts';

export interface BrokerSetupFlags {
  readonly print: boolean;
  readonly roles?: string | undefined;
  readonly vhost?: string | undefined;
  readonly password?: string[] | undefined;
  readonly out?: string | undefined;
  readonly rabbitmqctl?: string | undefined;
  /** Print the accounts (with --print) or the outcome as JSON. @defaultValue false */
  readonly json?: boolean;
}

/** The vhost named by the URL's path (amqplib's reading: empty means `/`). */
/** The virtual host of the (first) broker URL: the nodes of one cluster share their virtual hosts. */
function vhostOf(url: string): string {
  const path = new URL((brokerUrls(url)[0] ?? '').replace(/^amqp10/, 'amqp')).pathname.slice(1);
  return path === '' ? '/' : decodeURIComponent(path);
}

export async function runBrokerSetup(flags: BrokerSetupFlags): Promise<number> {
  const config = loadConfig();
  const topology = createTopology(config.prefix);
  const vhost = flags.vhost ?? vhostOf(config.amqpUrl);
  const accounts = planAccounts(topology, { roles: parseRoleList(flags.roles), passwords: parsePasswords(flags.password), vhost });
  if (flags.print) {
    process.stdout.write(flags.json === true ? `${JSON.stringify({ prefix: topology.prefix, vhost, accounts }, null, 2)}\n` : printedLines(accounts, topology.prefix, { everyRedisNode: config.redisSentinel.sentinels !== undefined }));
    return 0;
  }
  const out = flags.out ?? 'proxyhub-accounts.env';
  await applyAccounts(config, accounts, { vhost, rabbitmqctlPath: flags.rabbitmqctl ?? 'rabbitmqctl', out });
  if (flags.json === true) {
    process.stdout.write(`${JSON.stringify({ prefix: topology.prefix, vhost, accounts: accounts.map((account) => ({ role: account.role, user: account.user })), out })}\n`);
    return 0;
  }
  process.stdout.write(`created or updated ${accounts.length} accounts under prefix "${topology.prefix}" in vhost "${vhost}", declared the topology; role URLs (with passwords) are in ${out} (mode 0600)\n`);
  return 0;
}
