import type { QueueFeature } from '../contracts/topology.ts';
import type { ArfStore } from '../hub/storage/arf-store.ts';
import { factsFeature } from './facts/facts-feature.ts';
import type { ArfParser } from './openscap/arf-parse-pool.ts';
import { createOpenscapFeature } from './openscap/openscap-feature.ts';
import type { Feature } from './runtime/feature.ts';
import { reportsFeature } from './reports/reports-feature.ts';
import { createRhsmFeature, type RhsmFeatureSettings } from './rhsm/rhsm-feature.ts';

/** What features need beyond the shared worker context. */
export interface FeatureSettings {
  readonly arfStore: ArfStore;
  readonly openscapProxyUrl: string | null;
  /** Largest report JSON the openscap worker builds. @defaultValue 64 MiB */
  readonly openscapMaxReportBytes?: number;
  /** Where ARF reports are parsed (a thread pool). @defaultValue inline */
  readonly arfParser?: Pick<ArfParser, 'parse'>;
  /** What the rhsm feature delivers with: Katello's client, the newest-upload markers. */
  readonly rhsm: RhsmFeatureSettings;
}

/** Every queue feature has a worker: a feature added to the topology without one fails to compile. */
export function createFeatures(settings: FeatureSettings): { readonly [F in QueueFeature]: Feature<F> } {
  return {
    facts: factsFeature,
    reports: reportsFeature,
    rhsm: createRhsmFeature(settings.rhsm),
    openscap: createOpenscapFeature({ store: settings.arfStore, proxyUrl: settings.openscapProxyUrl, ...(settings.openscapMaxReportBytes === undefined ? {} : { maxReportBytes: settings.openscapMaxReportBytes }), ...(settings.arfParser === undefined ? {} : { parser: settings.arfParser }) }),
  };
}
