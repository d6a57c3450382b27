export { packageVersion } from '../hub/config/package-version.ts';
