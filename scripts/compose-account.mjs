// The administrator account of the RabbitMQ and Redis that `npm start` / `npm test` run from
// compose.yaml. compose.yaml is also the deployment example, so it requires a Redis password and
// creates no guest user; local runs get an account of their own, kept in var/ (git-ignored,
// mode 0600) so that later runs log in to the same containers and volumes.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';

export function accountFile(root) {
  return `${root}/var/compose-local-account.json`;
}

export function localComposeAccount(root) {
  const file = accountFile(root);
  if (!existsSync(file)) {
    mkdirSync(`${root}/var`, { recursive: true, mode: 0o700 });
    writeFileSync(file, `${JSON.stringify({ user: 'proxyhub-admin', password: randomBytes(18).toString('hex') })}\n`, { mode: 0o600 });
  }
  return JSON.parse(readFileSync(file, 'utf8'));
}

/** What compose.yaml reads for the administrator accounts. */
export function composeEnvironment(account) {
  return { ...process.env, RABBITMQ_ADMIN_USER: account.user, RABBITMQ_ADMIN_PASSWORD: account.password, REDIS_ADMIN_PASSWORD: account.password };
}

/** `url` logged in as the local administrator (Redis's default user has only a password). */
export function withAccount(url, account, composeService) {
  const parsed = new URL(url);
  if (composeService === 'rabbitmq') parsed.username = account.user;
  parsed.password = account.password;
  return parsed.toString();
}

/** Whether compose runs `composeService` now (started by an earlier `npm start` or `npm test`). */
export function composeRuns(root, composeService) {
  const result = spawnSync('docker', ['compose', 'ps', '--status', 'running', '-q', composeService], { cwd: root, encoding: 'utf8', env: composeEnvironment(localComposeAccount(root)) });
  return result.status === 0 && result.stdout.trim() !== '';
}
