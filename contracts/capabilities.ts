/**
 * What a proxyhub process provides, in the smart-proxy's words: feature names as Foreman knows
 * them, the plugin states of `GET /v2/features`, exposed settings and capabilities. Worker
 * processes announce these; the control role rebuilds `/v2/features` from them.
 */
import { z } from 'zod';

/** Smart-proxy plugin names (DESIGN.md §10) that Foreman matches against its Feature table. */
export const smartProxyFeatures = ['container_gateway', 'dynflow', 'openscap', 'registration', 'reports', 'script', 'templates'] as const;
export type SmartProxyFeature = (typeof smartProxyFeatures)[number];

/**
 * Features only proxyhub has. They are announced and shown on `/capabilities`, never in the
 * smart-proxy lists: Foreman's "Facts" feature names the smart-proxy's own facter endpoint
 * (`GET /facts`), which the facts relay does not serve (README, "Feature discovery"). `rhsm` is
 * no smart-proxy plugin either: on a content proxy Apache serves `/rhsm`, and Foreman finds it
 * through the Pulpcore feature's `rhsm_url` setting, which proxyhub must not claim (rhsm-contract §8).
 */
export const hubOnlyFeatures = ['facts', 'rhsm'] as const;
export type HubOnlyFeature = (typeof hubOnlyFeatures)[number];

export const announcedFeatureNames = [...smartProxyFeatures, ...hubOnlyFeatures] as const;
export type AnnouncedFeatureName = (typeof announcedFeatureNames)[number];

export function isSmartProxyFeature(name: string): name is SmartProxyFeature {
  return (smartProxyFeatures as readonly string[]).includes(name);
}

/** The smart-proxy's plugin states, as `/v2/features` spells them. */
export const featureStates = ['uninitialized', 'starting', 'running', 'disabled', 'failed'] as const;
export const featureStateSchema = z.enum(featureStates);
export type FeatureState = z.infer<typeof featureStateSchema>;

/** Exposed settings are scalars or null (an unset setting is `null`, as the smart-proxy renders it). */
export const exposedSettingsSchema = z.record(z.string().min(1).max(100), z.union([z.string(), z.number(), z.boolean(), z.null()]));

/** One feature as one process provides it. */
export const featureAnnouncementSchema = z.strictObject({
  name: z.enum(announcedFeatureNames),
  state: featureStateSchema,
  settings: exposedSettingsSchema,
  capabilities: z.array(z.string().min(1).max(200)).max(200),
});
export type FeatureAnnouncement = z.infer<typeof featureAnnouncementSchema>;

/**
 * Heartbeat bounds. An instance is expired after `heartbeatMs × MISSED_HEARTBEATS` without a
 * heartbeat, so the longest allowed interval keeps expiry within 10 s.
 */
export const MISSED_HEARTBEATS = 3;
export const MAX_HEARTBEAT_MS = 3000;
export const MIN_HEARTBEAT_MS = 100;

/** One entry of `GET /v2/features`: exactly the smart-proxy's field names and types. */
export const v2FeatureSchema = z.strictObject({
  http_enabled: z.boolean(),
  https_enabled: z.boolean(),
  settings: exposedSettingsSchema,
  state: featureStateSchema,
  capabilities: z.array(z.string()),
});
export type V2Feature = z.infer<typeof v2FeatureSchema>;
export const v2FeaturesSchema = z.record(z.string(), v2FeatureSchema);

/** `GET /version`: the proxy version and the version of every running plugin. */
export const versionSchema = z.strictObject({ version: z.string(), modules: z.record(z.string(), z.string()) });
