/**
 * The status page's stylesheet and script, served from the control listener itself (no build
 * step, nothing from elsewhere). The script follows `/status/events` and writes each update's
 * rows as text; EventSource reconnects on its own, and the page says when it is not live.
 */

export const STATUS_PAGE_SCRIPT = `'use strict';
(function () {
  var live = document.getElementById('live');
  function text(id, value) {
    var node = document.getElementById(id);
    if (node) node.textContent = value;
  }
  function fill(name, rows) {
    var table = document.getElementById(name);
    if (!table) return;
    var body = document.createElement('tbody');
    rows.forEach(function (row) {
      var tr = document.createElement('tr');
      row.forEach(function (cell) {
        var td = document.createElement('td');
        td.textContent = cell;
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
    table.replaceChild(body, table.tBodies[0]);
    var count = document.querySelector('[data-count="' + name + '"]');
    if (count) count.textContent = String(rows.length);
  }
  function attention(notes) {
    var list = document.getElementById('attention');
    if (!list) return;
    list.textContent = '';
    (notes.length === 0 ? ['all well'] : notes).forEach(function (note) {
      var li = document.createElement('li');
      li.textContent = note;
      if (notes.length === 0) li.className = 'well';
      list.appendChild(li);
    });
  }
  var source = new EventSource('/status/events');
  source.addEventListener('status', function (event) {
    var view = JSON.parse(event.data);
    text('at', view.at);
    text('broker', view.broker);
    text('redis', view.redis);
    text('job-counts', view.jobCounts);
    attention(view.attention);
    Object.keys(view.rows).forEach(function (name) { fill(name, view.rows[name]); });
    live.dataset.state = 'live';
  });
  source.addEventListener('open', function () { live.dataset.state = 'live'; });
  source.addEventListener('error', function () { live.dataset.state = 'reconnecting'; });
})();
`;

export const STATUS_PAGE_STYLE = `:root { color-scheme: light dark; --line: #8884; --accent: #2a7; --warn: #c62; }
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; max-width: 80rem; }
header { display: flex; align-items: baseline; gap: 1rem; }
h1 { font-size: 1.4rem; margin: 0; }
h2 { font-size: 1.05rem; margin: 1.4rem 0 0.2rem; }
.prefix { font-weight: normal; opacity: 0.7; }
.count { font-weight: normal; opacity: 0.6; }
.note { margin: 0 0 0.4rem; opacity: 0.7; font-size: 0.9em; }
.live::before { content: '● '; color: var(--line); }
.live[data-state="live"]::before { color: var(--accent); }
.live[data-state="reconnecting"]::before { color: var(--warn); }
.live[data-state="live"]::after { content: ' · live'; opacity: 0.7; }
.live[data-state="reconnecting"]::after { content: ' · reconnecting'; color: var(--warn); }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.2rem 1rem; margin: 1rem 0 0; }
dt { font-weight: 600; }
dd { margin: 0; }
#attention li { color: var(--warn); }
#attention li.well { color: var(--accent); list-style: none; margin-left: -1.2rem; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 0.25rem 0.6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
td { font-variant-numeric: tabular-nums; overflow-wrap: anywhere; }
tbody:empty::after { content: 'none'; display: block; padding: 0.25rem 0.6rem; opacity: 0.6; }
footer { margin-top: 2rem; opacity: 0.8; }
`;
