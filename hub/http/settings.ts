import type { GuardSettings } from './guards.ts';
import type { HttpsOptions } from './tls.ts';

/** Everything a listener needs, mapped from the configuration by the composition root. */
export interface HttpSettings extends GuardSettings {
  readonly https: HttpsOptions | undefined;
  readonly requestTimeoutMs: number;
}
