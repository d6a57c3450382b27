import cluster from 'node:cluster';
import type { Config } from '../hub/config/schema.ts';
import type { HttpSettings } from '../hub/http/settings.ts';
import { httpsOptions } from '../hub/http/tls.ts';

export function httpSettingsFrom(config: Config): HttpSettings {
  const https = httpsOptions(config.tls);
  return {
    https,
    tls: https !== undefined,
    trustedHosts: config.trustedHosts,
    devOpenControl: config.devOpenControl,
    devAnonymousUploads: config.devAnonymousUploads,
    metricsReaders: config.observability.metricsReaders,
    frontProxy: config.frontProxy,
    ratePerMinute: config.limits.ratePerMinute,
    headersTimeoutMs: config.limits.headersTimeoutMs,
    requestTimeoutMs: config.limits.requestTimeoutMs,
    maxEventLoopDelayMs: config.limits.maxEventLoopDelayMs,
    // PROXYHUB_MAX_EVENT_LOOP_UTILIZATION is still parsed but no longer sheds (hub/http/admission.ts says why).
    // An ingress of several processes (cli/ingress-cluster.ts) shares the listener's cap among
    // them: the cap bounds what the listener holds, however many event loops serve it.
    maxInflightRequests: cluster.isWorker ? ingressInflightShare(config) : config.limits.maxInflightRequests,
  };
}

/** Each ingress process's share of `PROXYHUB_MAX_INFLIGHT_REQUESTS` (0 stays 0: no cap). */
export function ingressInflightShare(config: Config): number {
  return Math.ceil(config.limits.maxInflightRequests / config.limits.ingressProcesses);
}
