/**
 * The status page itself: plain HTML rendered on the server from the same view the live updates
 * carry, so it reads correctly before (or without) its script. Styles and script are separate
 * files from this listener (status-assets.ts), which lets the page run under a strict CSP.
 */
import { statusTables, type StatusTable, type StatusView } from './status-view.ts';

/** Nothing but this listener; no inline script or style; never framed. */
export const STATUS_PAGE_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);

const TITLES: Readonly<Record<StatusTable, string>> = {
  instances: 'Instances',
  features: 'Features',
  queues: 'Queues',
  failures: 'Recent failures',
  jobs: 'REX jobs in flight',
};

const NOTES: Readonly<Record<StatusTable, string>> = {
  instances: 'Live proxyhub processes, as their capability announcements say.',
  features: 'A feature runs while one live instance provides it.',
  queues: 'Depths as the broker counts them, and how they moved over the last minute this page has watched: the control role sees depths, not deliveries (the workers’ metrics count those).',
  failures: 'The newest dead letters and why each failed; replay with proxyhub dlq replay.',
  jobs: 'Host jobs not finished; the script and every secret stay out of this view.',
};

function table(name: StatusTable, rows: readonly (readonly string[])[]): string {
  const head = statusTables[name].map((title) => `<th scope="col">${escapeHtml(title)}</th>`).join('');
  const body = rows.map((row) => `<tr>${row.map((cell) => `<td>${escapeHtml(cell)}</td>`).join('')}</tr>`).join('\n');
  return [
    `<section aria-labelledby="${name}-title">`,
    `<h2 id="${name}-title">${TITLES[name]} <span class="count" data-count="${name}">${rows.length}</span></h2>`,
    `<p class="note">${escapeHtml(NOTES[name])}</p>`,
    `<table id="${name}"><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`,
    '</section>',
  ].join('\n');
}

const attentionItems = (notes: readonly string[]): string => (notes.length === 0 ? '<li class="well">all well</li>' : notes.map((note) => `<li>${escapeHtml(note)}</li>`).join(''));

export function renderStatusPage(view: StatusView, prefix: string): string {
  const tables = (Object.keys(statusTables) as StatusTable[]).map((name) => table(name, view.rows[name])).join('\n');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<link rel="icon" href="data:,">
<title>proxyhub status · ${escapeHtml(prefix)}</title>
<link rel="stylesheet" href="/status/page.css">
<script src="/status/page.js" defer></script>
</head>
<body>
<header>
<h1>proxyhub <span class="prefix">${escapeHtml(prefix)}</span></h1>
<p class="live" id="live" data-state="static">as of <time id="at">${escapeHtml(view.at)}</time></p>
</header>
<section class="summary" aria-label="Health">
<dl>
<dt>Broker</dt><dd id="broker">${escapeHtml(view.broker)}</dd>
<dt>Redis</dt><dd id="redis">${escapeHtml(view.redis)}</dd>
<dt>REX jobs</dt><dd id="job-counts">${escapeHtml(view.jobCounts)}</dd>
</dl>
<h2>Needs attention</h2>
<ul id="attention">${attentionItems(view.attention)}</ul>
</section>
${tables}
<footer><a href="/status/jobs/">REX job board (read-only)</a> · <a href="/status/state">this page as JSON</a></footer>
</body>
</html>
`;
}
