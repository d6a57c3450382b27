// Is this Node.js recent enough for proxyhub, and if not, what to install. Written in syntax that
// Node.js 12 still parses (no `??`, no `?.`, no top-level await, no `node:` imports): Ubuntu
// 22.04 ships Node 12, and its user must get this message rather than a SyntaxError.
import { spawnSync } from 'child_process';

/** The lowest major version a `>=N` range allows (the only form package.json "engines" uses). */
export function minimumMajor(range) {
  const match = /^\s*>=\s*v?(\d+)/.exec(range || '');
  return match ? Number(match[1]) : 0;
}

/** The `nodejs` version this system's apt sources would install, or null (no apt, nothing offered). */
export function aptCandidate(run) {
  const result = (run || spawnSync)('apt-cache', ['policy', 'nodejs'], { encoding: 'utf8' });
  if (!result || result.status !== 0 || !result.stdout) return null;
  // "Candidate: 20.19.2+dfsg-1", "Candidate: 12.22.9~dfsg-1ubuntu3", "Candidate: (none)"
  const match = /Candidate:\s*(?:\d+:)?((\d+)\.\d+(?:\.\d+)?)/.exec(result.stdout);
  return match ? { version: match[1], major: Number(match[2]) } : null;
}

/**
 * Null when `current` satisfies `range`; otherwise the message to print, ending with the exact
 * line to run: the system's own package where it is recent enough, else nvm (no root needed,
 * whatever the distribution or third-party repository).
 */
export function nodeVersionMessage(current, range, candidate) {
  const required = minimumMajor(range);
  const major = Number(String(current).replace(/^v/, '').split('.')[0]);
  if (major >= required) return null;
  const lines = [`Node.js ${current} is too old: proxyhub needs Node.js ${range} (package.json "engines").`];
  if (candidate && candidate.major >= required) {
    lines.push(`This system's packages offer nodejs ${candidate.version}. Install it with:`, '  sudo apt-get install -y nodejs');
  } else {
    if (candidate) lines.push(`This system's packages offer only nodejs ${candidate.version}.`);
    lines.push(`Install Node.js ${required} for your user with nvm (https://github.com/nvm-sh/nvm):`, `  nvm install ${required}`, 'or take the binaries from https://nodejs.org/en/download.');
  }
  lines.push('Then run the same npm command again.');
  return lines.join('\n');
}
