/**
 * `proxyhub broker setup`: one account per role at RabbitMQ and in Redis, with the permissions
 * contracts/broker-accounts.ts gives it, and the topology declared once (the roles' accounts may
 * not declare). Run with an operator's account in PROXYHUB_AMQP_URL / PROXYHUB_REDIS_URL.
 * Accounts are made with `rabbitmqctl` (on the broker's host: the management plugin may be off).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, writeFileSync } from 'node:fs';
import { accountName, accountRoles, brokerPermissions, redisAclRules, type AccountRole } from '../contracts/broker-accounts.ts';
import { createTopology, queueFeatures, type Topology } from '../contracts/topology.ts';
import { brokerUrls } from '../hub/bus/broker-urls.ts';
import { declareWholeTopology } from '../hub/bus/provision.ts';
import { setRedisAclUsers } from '../hub/jobs/redis.ts';
import { redisTargetOf } from '../hub/jobs/redis-target.ts';
import { amqp091UrlOf } from '../hub/bus/transport.ts';
import type { Config } from '../hub/config/schema.ts';

export interface SetupOptions {
  readonly roles: readonly AccountRole[];
  /** Given passwords by role; the others are generated. */
  readonly passwords: Readonly<Partial<Record<AccountRole, string>>>;
  readonly vhost: string;
}

export interface Account {
  readonly role: AccountRole;
  readonly user: string;
  readonly password: string;
  /** rabbitmqctl arguments, one command each. */
  readonly rabbitmqctl: readonly (readonly string[])[];
  /** `ACL SETUSER` arguments, or undefined for a role without Redis. */
  readonly redisAcl: readonly string[] | undefined;
}

export function parseRoleList(spec: string | undefined): AccountRole[] {
  if (spec === undefined || spec === '') return [...accountRoles];
  return spec.split(',').map((name) => {
    const role = accountRoles.find((r) => r === name.trim().replace(/^worker:/, ''));
    if (role === undefined) throw new Error(`unknown role ${name}: use ${accountRoles.join(', ')}`);
    return role;
  });
}

export function parsePasswords(pairs: readonly string[] | undefined): Partial<Record<AccountRole, string>> {
  const passwords: Partial<Record<AccountRole, string>> = {};
  for (const pair of pairs ?? []) {
    const [role] = parseRoleList(pair.slice(0, pair.indexOf('=')));
    const password = pair.slice(pair.indexOf('=') + 1);
    if (role === undefined || !pair.includes('=') || password === '') throw new Error(`--password takes role=secret, not ${pair.split('=')[0]}=…`);
    passwords[role] = password;
  }
  return passwords;
}

export function planAccounts(topology: Topology, options: SetupOptions): Account[] {
  return options.roles.map((role) => {
    const user = accountName(topology, role);
    const password = options.passwords[role] ?? randomBytes(24).toString('base64url');
    const permissions = brokerPermissions(topology, role);
    const rules = redisAclRules(topology, role);
    return {
      role,
      user,
      password,
      rabbitmqctl: [
        ['set_permissions', '-p', options.vhost, user, permissions.configure, permissions.write, permissions.read],
        ...Object.entries(permissions.topics).map(([exchange, write]) => ['set_topic_permissions', '-p', options.vhost, user, exchange, write, '^$']),
      ],
      redisAcl: rules === undefined ? undefined : [user, 'reset', 'on', `>${password}`, ...rules],
    };
  });
}

function quote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/**
 * The commands an operator runs by hand (`--print`). The passwords appear here once. Through
 * Sentinel (`everyRedisNode`) the Redis lines are for every data node: ACL users are not replicated.
 */
export function printedLines(accounts: readonly Account[], prefix: string, options: { readonly everyRedisNode?: boolean } = {}): string {
  const lines = [`# proxyhub accounts for prefix "${prefix}". Passwords are shown once: keep them, or run again.`];
  if (options.everyRedisNode === true) lines.push('# Run each redis-cli line on every Redis data node (the master and each replica): Redis does not replicate ACL users.');
  for (const account of accounts) {
    lines.push(`# ${account.role}`, `rabbitmqctl add_user ${quote(account.user)} ${quote(account.password)} || rabbitmqctl change_password ${quote(account.user)} ${quote(account.password)}`);
    for (const args of account.rabbitmqctl) lines.push(`rabbitmqctl ${args.map(quote).join(' ')}`);
    if (account.redisAcl) lines.push(`redis-cli ACL SETUSER ${account.redisAcl.map(quote).join(' ')}`);
  }
  lines.push('# then declare the topology: start any role once with an administrator account, or run `proxyhub broker setup` without --print.');
  return `${lines.join('\n')}\n`;
}

function rabbitmqctl(command: string, args: readonly string[], stdin?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(command, [...args], { timeout: 60_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`rabbitmqctl ${args[0] ?? ''} failed: ${(stderr || stdout || error.message).trim()}`, { cause: error }));
      else resolve(`${stdout}${stderr}`);
    });
    child.stdin?.end(stdin ?? '');
  });
}

/** The role's URL: the operator's URL with the role's account in it. */
/** `url` with the account's credentials; a list of cluster nodes, each node with them. */
export function roleUrl(url: string, user: string, password: string): string {
  return brokerUrls(url)
    .map((node) => {
      const parsed = new URL(node);
      parsed.username = encodeURIComponent(user);
      parsed.password = encodeURIComponent(password);
      return parsed.toString();
    })
    .join(',');
}

/** Creates or updates every account, declares the topology, and writes the role URLs (mode 0600). */
export async function applyAccounts(config: Config, accounts: readonly Account[], options: { readonly vhost: string; readonly rabbitmqctlPath: string; readonly out: string }): Promise<void> {
  for (const account of accounts) {
    // The password goes through stdin, never the command line (other users can read argv).
    const added = await rabbitmqctl(options.rabbitmqctlPath, ['add_user', account.user], account.password).catch((error: Error) => error.message);
    if (/already exists/.test(added)) await rabbitmqctl(options.rabbitmqctlPath, ['change_password', account.user], account.password);
    else if (!/Done|Adding user/.test(added)) throw new Error(added);
    for (const args of account.rabbitmqctl) await rabbitmqctl(options.rabbitmqctlPath, args);
  }
  await setRedisAclUsers(redisTargetOf(config), accounts.flatMap((a) => (a.redisAcl ? [a.redisAcl] : [])));
  const retryDelaysMs = Object.fromEntries(queueFeatures.map((f) => [f, config.worker.retryDelaysMs]));
  await declareWholeTopology(config.amqpUrl, createTopology(config.prefix), { features: queueFeatures, retryDelaysMs });
  const lines = accounts.flatMap((a) => [
    `# ${a.role}`,
    `${envName(a.role)}_AMQP_URL=${roleUrl(amqp091UrlOf(config.amqpUrl), a.user, a.password)}`,
    ...(a.redisAcl ? [`${envName(a.role)}_REDIS_URL=${roleUrl(config.redisUrl, a.user, a.password)}`] : []),
  ]);
  writeFileSync(options.out, `${lines.join('\n')}\n`, { mode: 0o600 });
  // The mode of writeFileSync applies only to a new file.
  chmodSync(options.out, 0o600);
}

/** `worker:facts` → `PROXYHUB_FACTS`: the variable names compose.yaml reads. */
export function envName(role: AccountRole): string {
  return `PROXYHUB_${role.toUpperCase()}`;
}
