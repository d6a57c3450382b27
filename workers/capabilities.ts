/**
 * What each worker feature announces, in the smart-proxy's terms: the one place that maps a
 * `worker:<feature>` role to the smart-proxy features it provides, with their exposed settings
 * and capabilities. A worker feature added to the topology without an entry here fails to
 * compile (OpenSCAP adds `openscap`; remote execution `script` and `dynflow`).
 */
import type { FeatureAnnouncement } from '../contracts/capabilities.ts';
import type { WorkerFeature } from '../contracts/topology.ts';
import { rexCapabilities } from '../contracts/rex/capabilities.ts';
import type { RexMode } from '../contracts/rex/job.ts';

/** Worker settings an announcement may expose. */
export interface AnnouncementSettings {
  readonly registrationUrl: string | undefined;
  readonly templateUrl: string | undefined;
  /** How the rex worker reaches hosts (`:mode:` of remote_execution_ssh.yml). */
  readonly rexMode: RexMode;
}

type Announce = (settings: AnnouncementSettings) => FeatureAnnouncement[];

const running = (name: FeatureAnnouncement['name'], settings: FeatureAnnouncement['settings'] = {}, capabilities: string[] = []): FeatureAnnouncement => ({ name, state: 'running', settings, capabilities });

export const workerAnnouncements: { readonly [F in WorkerFeature]: Announce } = {
  // Not a smart-proxy feature: shown on /capabilities only (see contracts/capabilities.ts).
  facts: () => [running('facts')],
  reports: () => [running('reports')],
  // smart_proxy_openscap exposes no settings and no capabilities: Foreman only needs the name.
  openscap: () => [running('openscap')],
  // REX: `script`, and `dynflow` with the launch operations the task API accepts.
  rex: (settings) => rexCapabilities({ mode: settings.rexMode }),
  // One worker answers both, as the smart-proxy's registration plugin requires templates. An
  // unset URL is `null`, as the smart-proxy exposes an unset setting; Foreman then uses the
  // proxy's own URL.
  // Not a smart-proxy feature either (contracts/capabilities.ts says why): `/capabilities` only.
  rhsm: () => [running('rhsm')],
  // smart_proxy_container_gateway declares no settings and no capabilities either.
  container_gateway: () => [running('container_gateway')],
  registration: (settings) => [running('registration', { registration_url: settings.registrationUrl ?? null }), running('templates', { template_url: settings.templateUrl ?? null })],
};

/** Everything a process running these worker features announces, in a stable order. */
export function announcementsFor(workers: readonly WorkerFeature[], settings: AnnouncementSettings): FeatureAnnouncement[] {
  return workers.flatMap((feature) => workerAnnouncements[feature](settings)).sort((a, b) => a.name.localeCompare(b.name));
}
