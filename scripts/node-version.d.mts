// Types for scripts/node-version.mjs (plain JavaScript: it runs before npm ci), for its tests.
export interface AptCandidate {
  readonly version: string;
  readonly major: number;
}
export function minimumMajor(range: string | undefined): number;
export function aptCandidate(run?: (command: string, args: string[], options: { encoding: 'utf8' }) => { status: number | null; stdout: string } | undefined): AptCandidate | null;
export function nodeVersionMessage(current: string, range: string, candidate: AptCandidate | null): string | null;
