/**
 * The registry seen the way Foreman's ProxyAPI sees a smart-proxy (foreman-contracts.md §1):
 * `/features`, `/version` modules and `/v2/features`, smart-proxy features only (never `facts`).
 */
import { smartProxyFeatures, type AnnouncedFeatureName, type SmartProxyFeature, type V2Feature } from '../../contracts/capabilities.ts';
import type { FeatureView } from '../../contracts/events/capability.ts';

type Views = ReadonlyMap<AnnouncedFeatureName, FeatureView>;

/** Sorted names of the running smart-proxy features (`GET /features`). */
export function runningFeatures(views: Views): SmartProxyFeature[] {
  return smartProxyFeatures.filter((name) => views.get(name)?.state === 'running');
}

/** The smart-proxy strips `-develop` from plugin versions in `/version`. */
export function versionModules(views: Views): Record<string, string> {
  return Object.fromEntries(runningFeatures(views).map((name) => [name, (views.get(name)?.version ?? '').replace(/-develop$/, '')]));
}

/**
 * `GET /v2/features`. Every smart-proxy feature proxyhub knows is listed, as the smart-proxy lists
 * every installed plugin: a live one in its announced state; one the operator expects
 * (`PROXYHUB_FEATURES`) without a live worker as `failed`; any other as `disabled`. Foreman keeps
 * only `running` entries, so the others inform without changing what Foreman stores.
 */
export function v2Features(views: Views, expected: readonly SmartProxyFeature[], tls: boolean): Record<string, V2Feature> {
  const result: Record<string, V2Feature> = {};
  for (const name of smartProxyFeatures) {
    const view = views.get(name);
    if (view) {
      const running = view.state === 'running';
      result[name] = { http_enabled: running && !tls, https_enabled: running && tls, settings: { ...view.settings }, state: view.state, capabilities: [...view.capabilities] };
    } else {
      result[name] = { http_enabled: false, https_enabled: false, settings: {}, state: expected.includes(name) ? 'failed' : 'disabled', capabilities: [] };
    }
  }
  return result;
}

/**
 * What Foreman stores from a refresh: the running features with their settings and
 * capabilities. Foreman is refreshed only when this changes.
 */
export function foremanDigest(views: Views): string {
  return JSON.stringify(runningFeatures(views).map((name) => [name, views.get(name)?.settings, views.get(name)?.capabilities]));
}
