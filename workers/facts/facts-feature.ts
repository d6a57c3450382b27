/**
 * The facts relay: each uploaded payload goes to Foreman's own facts API unchanged.
 * Reposting the same facts is harmless, so a redelivery costs only a request.
 */
import { defineFeature } from '../runtime/feature.ts';

export const FOREMAN_FACTS_PATH = '/api/v2/hosts/facts';

export const factsFeature = defineFeature('facts', {
  'facts.uploaded.v1': async (event, context) => {
    await context.foreman.post(FOREMAN_FACTS_PATH, event.data);
  },
});
