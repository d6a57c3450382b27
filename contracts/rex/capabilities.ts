/**
 * What the rex worker offers Foreman, in the smart-proxy's own words, kept in one place so the
 * control plane's capability announcements can publish it as is: the features `script` (REX)
 * and `dynflow` (the task API), dynflow's capabilities being the launch operations it accepts.
 */
import type { FeatureAnnouncement } from '../capabilities.ts';
import { rexOperations } from './launch.ts';
import type { RexMode } from './job.ts';

export function rexCapabilities(settings: { readonly mode: RexMode }): FeatureAnnouncement[] {
  return [
    // The smart-proxy exposes no mode setting yet (§2.4); proxyhub tells Foreman anyway.
    { name: 'script', state: 'running', settings: { mode: settings.mode }, capabilities: [] },
    { name: 'dynflow', state: 'running', settings: {}, capabilities: [...rexOperations].sort() },
  ];
}
