/**
 * Wiring of the Foreman refresh push for the control role: the call (the workers' Foreman
 * client, with the proxy's client certificate, plus HTTP basic credentials of a Foreman user
 * allowed to `edit_smart_proxies`) and the debounced refresher watching the registry.
 */
import type { Logger } from '../hub/log/logger.ts';
import type { Config } from '../hub/config/schema.ts';
import type { CapabilityService } from '../hub/control/capability-service.ts';
import { createRefresher, leadsControlReplicas, refreshOnFeatureChanges } from '../hub/control/foreman-refresh.ts';
import { foremanDigest, runningFeatures } from '../hub/control/smart-proxy-features.ts';
import { createForemanClient } from '../workers/runtime/foreman-client.ts';
import type { Closer } from './closer.ts';

export function refreshPath(proxyId: number): string {
  return `/api/v2/smart_proxies/${proxyId}/refresh`;
}

/** Starts pushing feature changes to Foreman, when a proxy id is configured. */
export function startForemanPush(config: Config, service: CapabilityService, selfId: string, logger: Logger, closers: Closer[]): void {
  const { proxyId, url } = config.foreman;
  if (proxyId === undefined || url === undefined) {
    logger.info('PROXYHUB_FOREMAN_PROXY_ID not set: Foreman learns about feature changes only when someone refreshes the proxy');
    return;
  }
  const client = createForemanClient({ url, cert: config.foreman.cert, key: config.foreman.key, ca: config.foreman.ca, timeoutMs: config.foreman.timeoutMs });
  const authorization = config.foreman.apiUser === undefined ? {} : { authorization: `Basic ${Buffer.from(`${config.foreman.apiUser}:${config.foreman.apiToken ?? ''}`).toString('base64')}` };
  const log = logger.child({ component: 'foreman-refresh', proxyId });
  const refresher = createRefresher({
    debounceMs: config.capabilities.refreshDebounceMs,
    logger: log,
    // With no running feature Foreman refuses the refresh ("No features found"), and by our
    // reading of associate_features (`.clear` on a dependent: :destroy association) it deletes
    // the features it stored on the way: Foreman keeps the last good state instead.
    ready: () => runningFeatures(service.features()).length > 0,
    call: async () => {
      const answer = await client.forward({ method: 'PUT', path: refreshPath(proxyId), query: [], headers: { accept: 'application/json,version=2', 'content-type': 'application/json', ...authorization }, body: Buffer.from('{}'), timeoutMs: config.foreman.timeoutMs });
      return { status: answer.status, body: answer.body.toString('utf8') };
    },
  });
  const unsubscribe = refreshOnFeatureChanges(service, () => foremanDigest(service.features()), refresher, () => leadsControlReplicas(selfId, service.instances()));
  closers.push({
    name: 'foreman refresh',
    close: async () => {
      unsubscribe();
      refresher.close();
      await client.close();
    },
  });
}
