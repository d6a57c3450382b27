/**
 * `proxyhub config check`: validates the configuration for a role set and prints the deployment
 * plan — listeners, their routes, and the upstreams each process reaches. Non-zero when unsafe.
 */
import { loadConfig } from '../hub/config/load.ts';
import { deploymentProblems, parseRoles, withoutUnconfiguredGateway, type RoleSet } from '../hub/config/roles.ts';
import type { Config } from '../hub/config/schema.ts';
import { errorMessage } from '../contracts/errors.ts';
import { describePlan } from './plan.ts';

export async function runConfigCheck(roleSpec: string, options: { json: boolean } = { json: false }): Promise<number> {
  let config: Config;
  let roles: RoleSet;
  try {
    config = loadConfig();
    // What `proxyhub start` would run: the gateway only with a registry to ask.
    roles = withoutUnconfiguredGateway(config, parseRoles(roleSpec), undefined);
  } catch (error) {
    process.stderr.write(`proxyhub config check: ${errorMessage(error)}\n`);
    return 2;
  }
  const problems = deploymentProblems(config, roles);
  let plan = '';
  try {
    plan = await describePlan(config, roles);
  } catch (error) {
    if (problems.length === 0) problems.push(`cannot build the listeners: ${errorMessage(error)}`);
  }
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ ok: problems.length === 0, plan: plan === '' ? [] : plan.split('\n'), problems }, null, 2)}\n`);
    return problems.length === 0 ? 0 : 2;
  }
  if (plan !== '') process.stdout.write(`${plan}\n`);
  if (problems.length > 0) {
    process.stderr.write(`unsafe or incomplete configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}\n`);
    return 2;
  }
  process.stdout.write('configuration OK\n');
  return 0;
}
