/**
 * The co-located hub as it ran before roles became child processes: every role in one process
 * through the in-process API (`startHub`), configured from the environment like `proxyhub start`.
 * Only bench/colocated.ts runs it, as the "before" of its comparison.
 */
import { startHub } from '../cli/start.ts';
import { createLogger } from '../hub/log/logger.ts';
import { loadConfig } from '../hub/config/load.ts';
import { parseRoles } from '../hub/config/roles.ts';

const config = loadConfig();
const hub = await startHub(config, parseRoles(process.argv[2] ?? 'all'), createLogger(config.logLevel));
process.stdout.write(`${JSON.stringify({ msg: 'proxyhub started', ingressUrl: hub.ingressUrl })}\n`);
process.once('SIGTERM', () => void hub.close().then((closed) => process.exit(closed ? 0 : 1)));
