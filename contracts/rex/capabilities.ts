/**
 * What the rex worker offers Foreman, in the smart-proxy's own words, kept in one place so the
 * control plane's capability announcements can publish it as is: the features `script` (REX)
 * and `dynflow` (the task API), dynflow's capabilities being the launch operations it accepts.
 */
import { rexOperations } from './launch.ts';
import type { RexMode } from './job.ts';

export interface FeatureAnnouncement {
  readonly name: string;
  readonly settings: Readonly<Record<string, unknown>>;
  readonly capabilities: readonly string[];
}

export function rexCapabilities(settings: { readonly mode: RexMode }): readonly FeatureAnnouncement[] {
  return [
    // The smart-proxy exposes no mode setting yet (§2.4); proxyhub tells Foreman anyway.
    { name: 'script', settings: { mode: settings.mode }, capabilities: [] },
    { name: 'dynflow', settings: {}, capabilities: [...rexOperations].sort() },
  ];
}
