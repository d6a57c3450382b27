/**
 * A pull-mqtt host as foreman_ygg_worker plays it, for the benchmarks: after the MQTT notice it
 * fetches the job's script from the ingress with its client certificate, then posts one v1
 * update carrying the output and exit 0, which finishes the job (the rex worker then calls
 * Foreman back).
 */
import { request, type Agent } from 'undici';

/** The catalog code of a problem+json answer (`PROXYHUB_OVERLOADED`), to say why a step was refused. */
const problemCode = (text: string): string => /"code":"([A-Z0-9_]+)"/.exec(text)?.[1] ?? '';

/** Fetch + update of one notified job (`onFetched` between the two); throws on any answer but 200 (`fetch 503 PROXYHUB_OVERLOADED`). */
export async function runPullJob(ingressUrl: string, uuid: string, dispatcher: Agent, onFetched: () => void = () => undefined): Promise<void> {
  const script = await request(`${ingressUrl}/ssh/jobs/${uuid}`, { dispatcher });
  const scriptText = await script.body.text();
  if (script.statusCode !== 200) throw new Error(`fetch ${script.statusCode} ${problemCode(scriptText)}`.trim());
  onFetched();
  const at = new Date().toISOString();
  const update = await request(`${ingressUrl}/ssh/jobs/${uuid}/update`, {
    method: 'POST',
    dispatcher,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ version: '1', updates: [{ type: 'output', timestamp: at, stream: 'stdout', content: 'hi\n' }, { type: 'exit', timestamp: at, exit_code: 0 }] }),
  });
  const updateText = await update.body.text();
  if (update.statusCode !== 200) throw new Error(`update ${update.statusCode} ${problemCode(updateText)}`.trim());
}
