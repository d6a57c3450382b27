/**
 * The per-job output cap, applied in Redis in one script so that concurrent updates of one job
 * (a pull host may post several at once) can neither overshoot it nor store the notice twice.
 * Counted bytes and the truncation mark live in the BullMQ job hash (`outputBytes`,
 * `outputTruncated`), so they go when the job goes. The first chunk that does not fit keeps
 * what does, cut on a UTF-8 character boundary; then one notice is stored, and every later
 * counted chunk is dropped (even one small enough for what is left, which would read as if
 * nothing had been cut). The job itself goes on: the host's
 * updates are still answered and its exit status still recorded.
 *
 * This is the one place proxyhub writes BullMQ's keys itself. BullMQ's own `addJobLog` appends
 * a line but cannot check a byte budget in the same step: a read-then-append from here would let
 * two concurrent chunks both pass the check. So the script appends to the job's log list exactly
 * where `addJobLog` would (the keys come from BullMQ's `toKey`), and keeps its counters as extra
 * fields of the job hash, which BullMQ leaves alone and deletes with the job. proxyhub's own
 * notices go through it too (uncounted), so that every output line is written once.
 *
 * Every call carries an id of its own, and the job hash keeps the ids of the last
 * RECENT_CALLS calls that wrote something, each with its answer (`outputRecentCalls`). ioredis
 * sends a command again when its connection drops before the answer came
 * (`autoResendUnfulfilledCommands`): after a Sentinel failover, a chunk the old primary had
 * applied and replicated would otherwise be stored twice on the new one. The same call seen
 * again gets the first answer and writes nothing. Several writers may have a call in flight for
 * one job (in pull mode the host's updates in the ingress's process, the worker's notices in its
 * own), hence a few ids rather than the last one.
 */
import { randomBytes } from 'node:crypto';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { OutputChunk } from '../../contracts/rex/job.ts';

/** Calls remembered per job: more than the writers that can have one in flight at once. */
const RECENT_CALLS = 8;

/**
 * KEYS: job hash, logs list. ARGV: cap, chunk JSON, chunk text, JSON of the chunk without its
 * closing brace and output (for the cut part), notice JSON, the call's id, `counted` or `notice`
 * (one of proxyhub's own notices: stored past the cap and not counted). Returns {'stored'},
 * {'cut', bytes kept}, {'dropped'} or {'gone'} (no such job); a call among the job's recent ones
 * gets its first answer again. `gone`, `dropped` and a repeat write nothing.
 */
export const APPEND_CAPPED_OUTPUT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return {'gone'} end
local recent = redis.call('HGET', KEYS[1], 'outputRecentCalls') or ''
for call in string.gmatch(recent, '[^\\n]+') do
  local space = string.find(call, ' ', 1, true)
  if string.sub(call, 1, space - 1) == ARGV[6] then return cjson.decode(string.sub(call, space + 1)) end
end
local function append()
  if ARGV[7] == 'notice' then
    redis.call('RPUSH', KEYS[2], ARGV[2])
    return {'stored'}
  end
  if redis.call('HEXISTS', KEYS[1], 'outputTruncated') == 1 then return {'dropped'} end
  local cap = tonumber(ARGV[1])
  local used = tonumber(redis.call('HGET', KEYS[1], 'outputBytes') or '0')
  local text = ARGV[3]
  local size = string.len(text)
  if used + size <= cap then
    redis.call('RPUSH', KEYS[2], ARGV[2])
    redis.call('HINCRBY', KEYS[1], 'outputBytes', size)
    return {'stored'}
  end
  local keep = cap - used
  while keep > 0 do
    local byte = string.byte(text, keep + 1)
    if byte < 128 or byte >= 192 then break end
    keep = keep - 1
  end
  if keep > 0 then redis.call('RPUSH', KEYS[2], ARGV[4] .. cjson.encode(string.sub(text, 1, keep)) .. '}') end
  redis.call('RPUSH', KEYS[2], ARGV[5])
  redis.call('HSET', KEYS[1], 'outputBytes', used + keep, 'outputTruncated', '1')
  return {'cut', keep}
end
local answer = append()
-- A dropped call, applied again, is dropped again: only calls that wrote are remembered.
if answer[1] ~= 'dropped' then
  local kept = {ARGV[6] .. ' ' .. cjson.encode(answer)}
  for call in string.gmatch(recent, '[^\\n]+') do
    if #kept == ${RECENT_CALLS} then break end
    kept[#kept + 1] = call
  end
  redis.call('HSET', KEYS[1], 'outputRecentCalls', table.concat(kept, '\\n'))
end
return answer
`;

export type CappedAppendReply = ['stored'] | ['cut', number] | ['dropped'] | ['gone'];

export function truncationNotice(cap: number, timestamp: number): OutputChunk {
  return {
    output_type: 'debug',
    output: `Output truncated: this job wrote more than ${cap} bytes (PROXYHUB_REX_MAX_OUTPUT_BYTES); the rest is not kept, the job runs on and its exit status is kept`,
    timestamp,
  };
}

/** Whether a chunk counts against the cap, or is one of proxyhub's own notices (few and short, they say why a job ended). */
export type OutputKind = 'counted' | 'notice';

/** The arguments of APPEND_CAPPED_OUTPUT for one chunk; `callId` must be new for every call and hold no space or newline. */
export function cappedAppendArguments(cap: number, chunk: OutputChunk, callId: string, kind: OutputKind = 'counted'): string[] {
  const { output, ...rest } = chunk;
  const json = JSON.stringify(rest);
  return [String(cap), JSON.stringify(chunk), output, `${json.slice(0, -1)},"output":`, JSON.stringify(truncationNotice(cap, chunk.timestamp)), callId, kind];
}

/** What the script stored, as chunks (to announce exactly what Foreman will get). */
export function storedChunks(reply: CappedAppendReply, cap: number, chunk: OutputChunk): OutputChunk[] {
  switch (reply[0]) {
    case 'stored':
      return [chunk];
    case 'cut': {
      const kept = Buffer.from(chunk.output, 'utf8').subarray(0, reply[1]).toString('utf8');
      return [...(kept ? [{ ...chunk, output: kept }] : []), truncationNotice(cap, chunk.timestamp)];
    }
    case 'dropped':
    case 'gone':
      return [];
    default: {
      const unreachable: never = reply;
      return unreachable;
    }
  }
}

/** Appends one chunk (a counted one within the cap), atomically and once; returns what was stored. */
export async function appendCappedOutput(redis: Redis, jobs: Queue, planId: string, chunk: OutputChunk, cap: number, kind: OutputKind = 'counted'): Promise<OutputChunk[]> {
  const job = jobs.toKey(planId);
  // base64url: no space or newline, which separate the ids and answers the script keeps.
  const callId = randomBytes(12).toString('base64url');
  const reply = (await redis.eval(APPEND_CAPPED_OUTPUT, 2, job, `${job}:logs`, ...cappedAppendArguments(cap, chunk, callId, kind))) as CappedAppendReply;
  return storedChunks(reply, cap, chunk);
}
