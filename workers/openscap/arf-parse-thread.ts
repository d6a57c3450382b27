/**
 * Runs in a parse thread: bzip2 decompression, the SAX parse and the report build of one ARF
 * upload (about 80 ms of CPU for a 180 KB report; bench/results/openscap-profile.md), away from the
 * worker's event loop.
 */
import { serveTasks } from '../../hub/threads/serve-tasks.ts';
import { arfForemanJson, type ArfJobContext } from './arf-foreman-json.ts';

export interface ArfParseTask {
  readonly bytes: Uint8Array;
  readonly context: ArfJobContext;
}

serveTasks<ArfParseTask, string>(({ bytes, context }) => arfForemanJson([Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)], context));
