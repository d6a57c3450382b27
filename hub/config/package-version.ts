import { existsSync, readFileSync } from 'node:fs';

// The same module runs from sources and from dist/ (build): look for package.json upwards.
function findPackageJson(): URL {
  for (const relative of ['../../package.json', '../../../package.json']) {
    const candidate = new URL(relative, import.meta.url);
    if (existsSync(candidate)) return candidate;
  }
  throw new Error('package.json not found');
}

/** proxyhub's version, from package.json: what `proxyhub --version`, `/version` and the generated documents say. */
export const packageVersion: string = (JSON.parse(readFileSync(findPackageJson(), 'utf8')) as { version: string }).version;
