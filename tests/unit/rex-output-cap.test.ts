/**
 * The pure half of the REX output cap: the arguments the Redis script gets (the cut chunk is
 * rebuilt from a JSON head, so it must parse back to the same chunk) and the chunks announced
 * for each answer of the script.
 */
import t from 'tap';
import { cappedAppendArguments, storedChunks, truncationNotice } from '../../hub/jobs/rex-output-cap.ts';
import type { OutputChunk } from '../../contracts/rex/job.ts';

const chunk: OutputChunk = { output_type: 'stderr', output: 'héllo "world"\n', timestamp: 1712345678.123 };

t.test('the JSON head plus an encoded prefix parses back to the chunk, cut', async (t) => {
  const [cap, whole, text, head, notice, callId, kind] = cappedAppendArguments(100, chunk, 'call-1');
  t.equal(cap, '100');
  t.same(JSON.parse(whole ?? ''), chunk);
  t.equal(text, chunk.output);
  t.same(JSON.parse(`${head}${JSON.stringify('hé')}}`), { ...chunk, output: 'hé' });
  t.same(JSON.parse(notice ?? ''), truncationNotice(100, chunk.timestamp));
  t.equal(callId, 'call-1', 'the call id, for the script to tell a resend');
  t.equal(kind, 'counted', 'counted against the cap unless said otherwise');
  t.equal(cappedAppendArguments(100, chunk, 'call-2', 'notice')[6], 'notice');
  t.match(truncationNotice(100, 1).output, /^Output truncated: .*more than 100 bytes/);
});

t.test('what is announced for each answer of the script', async (t) => {
  t.same(storedChunks(['stored'], 100, chunk), [chunk]);
  t.same(storedChunks(['cut', 3], 100, chunk), [{ ...chunk, output: 'hé' }, truncationNotice(100, chunk.timestamp)], 'bytes kept, on a character boundary');
  t.same(storedChunks(['cut', 0], 100, chunk), [truncationNotice(100, chunk.timestamp)], 'nothing fit: the notice alone');
  t.same(storedChunks(['dropped'], 100, chunk), []);
  t.same(storedChunks(['gone'], 100, chunk), []);
});
