import type { QueueFeature } from '../contracts/topology.ts';
import { factsFeature } from './facts/facts-feature.ts';
import type { Feature } from './runtime/feature.ts';
import { reportsFeature } from './reports/reports-feature.ts';

/** Every queue feature has a worker: a feature added to the topology without one fails to compile. */
export const features: { readonly [F in QueueFeature]: Feature<F> } = {
  facts: factsFeature,
  reports: reportsFeature,
};
