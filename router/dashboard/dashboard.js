// The dashboard page's script: follows /dashboard/feed (server-sent events) and redraws the
// tables from each snapshot. Plain browser JavaScript, no build step; values are written with
// textContent only, never as HTML.
/* global document, EventSource */
'use strict';

const $ = (id) => document.getElementById(id);
const percent = (x) => `${(x * 100).toFixed(1)}%`;
const timeOf = (iso) => new Date(iso).toLocaleTimeString();

let paused = false;
let latest;

function cell(row, text, options = {}) {
  const td = document.createElement('td');
  td.textContent = text;
  if (options.num) td.className = 'num';
  if (options.cls) td.classList.add(options.cls);
  if (options.field) td.dataset.field = options.field;
  row.appendChild(td);
  return td;
}

function fillTable(id, items, draw) {
  const body = $(id).tBodies[0];
  const rows = items.map((item) => {
    const tr = document.createElement('tr');
    draw(tr, item);
    return tr;
  });
  body.replaceChildren(...rows);
}

function drawPod(tr, pod) {
  tr.dataset.pod = pod.id;
  const th = document.createElement('th');
  th.scope = 'row';
  th.textContent = pod.id;
  th.title = pod.url;
  tr.appendChild(th);
  if (!pod.healthy) cell(tr, `✕ down${pod.down_reason ? ` (${pod.down_reason})` : ''}`, { cls: 'bad' });
  else if (pod.draining) cell(tr, '◐ draining', { cls: 'warn' });
  else cell(tr, '● healthy', { cls: 'ok' });
  cell(tr, String(pod.inflight), { num: true });
  cell(tr, String(pod.queued), { num: true });
  cell(tr, String(pod.running), { num: true });
  cell(tr, String(pod.waiting), { num: true });
  const kv = cell(tr, '');
  const bar = document.createElement('span');
  bar.className = 'bar';
  bar.setAttribute('aria-hidden', 'true');
  const fill = document.createElement('span');
  fill.style.width = percent(Math.min(1, Math.max(0, pod.kv_usage)));
  bar.appendChild(fill);
  kv.append(bar, percent(pod.kv_usage));
  cell(tr, String(pod.pinned_workflows), { num: true });
}

function drawWorkflow(tr, wf) {
  tr.dataset.workflowId = wf.workflow_id;
  const th = document.createElement('th');
  th.scope = 'row';
  th.textContent = wf.workflow_id;
  tr.appendChild(th);
  cell(tr, wf.phase, { field: 'phase' });
  cell(tr, wf.agents.map((a) => `${a.name} (${a.calls})`).join(', ') || '–', {
    field: 'agents',
    cls: 'wrap',
  });
  cell(tr, wf.pinned_pod ?? '–', { field: 'pinned_pod' });
  cell(tr, String(wf.calls), { num: true, field: 'calls' });
  cell(tr, percent(wf.cache_hit_rate), { num: true, field: 'hit_rate' });
  cell(tr, String(wf.queued_messages), { num: true, field: 'queued_messages' });
  cell(tr, `${wf.spills} / ${wf.migrations}`, { num: true, field: 'moves' });
  cell(tr, timeOf(wf.last_active_at), { field: 'last_active' });
}

function drawDecision(tr, d) {
  cell(tr, timeOf(d.at));
  cell(tr, d.workflow_id ?? '–');
  cell(tr, d.agent_id ?? '–');
  cell(tr, d.pod ?? '–');
  cell(tr, d.placement ?? '–', { cls: d.placement === 'spill' || d.placement === 'migration' ? 'warn' : '' });
  cell(tr, d.outcome, { cls: d.outcome === 'ok' ? '' : 'bad' });
  cell(tr, d.duration_ms.toFixed(0), { num: true });
  cell(tr, d.prompt_tokens === null ? '–' : `${d.cached_tokens} / ${d.prompt_tokens}`, { num: true });
}

function matchesFilter(wf, filter) {
  if (filter === '') return true;
  return (
    wf.workflow_id.toLowerCase().includes(filter) ||
    wf.agents.some((a) => a.name.toLowerCase().includes(filter))
  );
}

function render(snapshot) {
  const t = snapshot.totals;
  $('total-logic').textContent = snapshot.routing_logic;
  $('total-live').textContent = t ? String(t.live_workflows) : '–';
  $('total-calls').textContent = t ? String(t.calls) : '–';
  $('total-hit').textContent = t ? percent(t.cache_hit_rate) : '–';
  $('total-moves').textContent = t ? `${t.spills} / ${t.migrations}` : '–';
  const store = $('total-store');
  store.textContent = `${snapshot.store} (${snapshot.store_health === 'ok' ? 'ok' : 'degraded'})`;
  store.className = snapshot.store_health === 'ok' ? 'ok' : 'bad';

  fillTable('pods', snapshot.pods, drawPod);
  const filter = $('workflow-filter').value.trim().toLowerCase();
  const workflows = snapshot.workflows.filter((wf) => matchesFilter(wf, filter));
  fillTable('workflows', workflows, drawWorkflow);
  $('workflows-empty').hidden = workflows.length > 0;
  $('workflows-empty').textContent =
    snapshot.workflows.length === 0 ? 'No live workflows yet.' : 'No workflow matches the filter.';
  fillTable('decisions', snapshot.decisions, drawDecision);
  $('updated').textContent = `Updated ${timeOf(snapshot.at)}`;
}

function connect() {
  const source = new EventSource('/dashboard/feed');
  source.addEventListener('open', () => {
    $('connection').textContent = paused ? 'Connected, updates paused' : 'Live';
  });
  source.addEventListener('error', () => {
    $('connection').textContent = 'Connection lost, reconnecting…';
  });
  source.addEventListener('snapshot', (event) => {
    latest = JSON.parse(event.data);
    if (!paused) render(latest);
  });
}

document.addEventListener('DOMContentLoaded', () => {
  const pause = $('pause');
  pause.addEventListener('click', () => {
    paused = !paused;
    pause.setAttribute('aria-pressed', String(paused));
    pause.textContent = paused ? 'Resume updates' : 'Pause updates';
    $('connection').textContent = paused ? 'Updates paused' : 'Live';
    if (!paused && latest) render(latest);
  });
  $('workflow-filter').addEventListener('input', () => {
    if (latest) render(latest);
  });
  connect();
});
