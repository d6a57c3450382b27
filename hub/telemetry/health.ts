/**
 * Liveness and readiness, the same on every process. Liveness says only that the process
 * answers (a supervisor restarts it otherwise). Readiness asks each dependency the role uses
 * (the broker, Redis, Foreman as the workers last found it) and names every one that fails, so
 * an operator reads the cause in the answer instead of in the logs. Each check reads state the
 * process keeps anyway (connection states, the upstream pause): a probe every second costs no
 * round trip to the broker, Redis or Foreman.
 */

/** `true` when the dependency is usable; otherwise what is wrong, in a few words. */
export type CheckResult = true | string;

export interface Readiness {
  readonly ready: boolean;
  /** Every check by name: `ok`, or what is wrong. */
  readonly checks: Readonly<Record<string, string>>;
  /** The names of the failing checks, in the order they were added. */
  readonly failing: readonly string[];
}

export interface Health {
  /** Adds a readiness check; a name added twice replaces the first (a role restarted in-process). */
  add(name: string, check: () => CheckResult): void;
  readiness(): Readiness;
}

export function createHealth(): Health {
  const checks = new Map<string, () => CheckResult>();
  return {
    add(name, check) {
      checks.set(name, check);
    },
    readiness() {
      const results: Record<string, string> = {};
      const failing: string[] = [];
      for (const [name, check] of checks) {
        let result: CheckResult;
        try {
          result = check();
        } catch (error) {
          result = error instanceof Error ? error.message : String(error);
        }
        results[name] = result === true ? 'ok' : result;
        if (result !== true) failing.push(name);
      }
      return { ready: failing.length === 0, checks: results, failing };
    },
  };
}

/** The JSON body and status of `/readyz`. */
export function readinessAnswer(health: Health, role: string): { status: 200 | 503; body: Record<string, unknown> } {
  const readiness = health.readiness();
  return { status: readiness.ready ? 200 : 503, body: { status: readiness.ready ? 'ready' : 'not ready', role, checks: readiness.checks, failing: readiness.failing } };
}

/** The JSON body of `/livez`: answering at all is the proof. */
export function livenessAnswer(role: string): Record<string, unknown> {
  return { status: 'alive', role, pid: process.pid, uptimeSeconds: Math.round(process.uptime()) };
}
