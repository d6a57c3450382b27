/**
 * `proxyhub config check`: validates the configuration for a role set and prints the deployment
 * plan — listeners, their routes, and the upstreams each process reaches. Non-zero when unsafe.
 */
import { queueFeatures } from '../contracts/topology.ts';
import { redactUrl } from '../hub/bus/logger.ts';
import { loadConfig } from '../hub/config/load.ts';
import { deploymentProblems, parseRoles, tlsConfigured, type RoleSet } from '../hub/config/roles.ts';
import type { Config } from '../hub/config/schema.ts';

const INGRESS_ROUTES = ['POST /api/hosts/facts', 'POST /api/v2/hosts/facts', 'POST /reports/:format (puppet, ansible)', 'GET /healthz'];
const CONTROL_ROUTES = ['GET /version', 'GET /healthz'];

export function describePlan(config: Config, roles: RoleSet): string {
  const lines: string[] = [];
  const scheme = tlsConfigured(config) ? 'https' : 'http';
  const tls = tlsConfigured(config) ? `TLS, client certificates verified against ${config.tls.ca ?? '(no CA: none requested)'}` : 'plain HTTP (no TLS)';
  lines.push(`roles: ${[roles.ingress && 'ingress', roles.control && 'control', ...roles.workers.map((w) => `worker:${w}`)].filter(Boolean).join(', ')}`);
  lines.push(`broker: ${redactUrl(config.amqpUrl)}  prefix: ${config.prefix}`);
  if (roles.ingress) {
    lines.push(`ingress listener: ${scheme}://${config.ingress.host}:${config.ingress.port} — ${tls}`);
    for (const route of INGRESS_ROUTES) lines.push(`    ${route}`);
    lines.push('    upstreams: broker only');
  }
  if (roles.control) {
    lines.push(`control listener: ${scheme}://${config.control.host}:${config.control.port} — ${tls}`);
    for (const route of CONTROL_ROUTES) lines.push(`    ${route}`);
  }
  if (roles.workers.length > 0) {
    lines.push(`workers: ${roles.workers.join(', ')} (of ${queueFeatures.join(', ')})`);
    lines.push(`    upstreams: broker, ${redactUrl(config.redisUrl)}, Foreman ${config.foreman.url ?? '(not set)'}${config.foreman.cert ? ' with client certificate' : ' without client certificate'}`);
    lines.push(`    retries: ${config.worker.retryDelaysMs.join(', ')} ms, dead-lettered after ${Math.round(config.worker.retryDeadlineMs / 60000)} min`);
  }
  return lines.join('\n');
}

export function runConfigCheck(roleSpec: string): number {
  let config: Config;
  let roles: RoleSet;
  try {
    config = loadConfig();
    roles = parseRoles(roleSpec);
  } catch (error) {
    process.stderr.write(`proxyhub config check: ${(error as Error).message}\n`);
    return 2;
  }
  process.stdout.write(`${describePlan(config, roles)}\n`);
  const problems = deploymentProblems(config, roles);
  if (problems.length > 0) {
    process.stderr.write(`unsafe or incomplete configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}\n`);
    return 2;
  }
  process.stdout.write('configuration OK\n');
  return 0;
}
