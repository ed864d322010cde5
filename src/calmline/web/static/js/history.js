// Call history for review and QA: a search form (date range, queue, agent, risk tier, protocol, status) over
// GET /api/history/calls; each result opens the call page, which rebuilds the call from its log.

import { ApiError, BASE, api, hasRole, homeFor, searchHistory } from './api.js';
import {
  announce, el, formatDuration, humanize, initSession, parseTime, severityBadge, showConnection, showError,
} from './ui.js';

const $ = (id) => document.getElementById(id);
const FIELDS = ['from', 'to', 'queue', 'agent', 'risk', 'protocol', 'status'];

function formParams(form) {
  const params = {};
  for (const name of FIELDS) {
    const value = String(form.elements[name].value || '').trim();
    if (value) params[name] = value;
  }
  return params;
}

function when(value) {
  const t = parseTime(value);
  return t === null ? '–' : new Date(t).toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' });
}

function renderRow(c) {
  const started = parseTime(c.started_at);
  const endedAt = parseTime(c.ended_at);
  const duration = started === null ? '–' : formatDuration(((endedAt ?? Date.now()) - started) / 1000);
  const risk = c.top_tier
    ? el('span', { class: `badge tier tier-${c.top_tier}`, text: c.top_tier.toUpperCase() })
    : el('span', { class: 'muted', text: 'none' });
  return el('tr', { dataset: { call: c.call_id } },
    el('th', { scope: 'row' }, el('a', { href: `${BASE}/calls/${encodeURIComponent(c.call_id)}`, class: 'mono', text: c.call_id })),
    el('td', { text: when(c.started_at) }),
    el('td', { class: 'num', text: duration }),
    el('td', { text: c.queue || '–' }),
    el('td', { text: c.agent_id || '–' }),
    el('td', {}, risk),
    el('td', {}, c.alerts ? [severityBadge(c.max_alert_severity), ` ${c.alerts}`] : '0'),
    el('td', { text: (c.protocols || []).map((p) => p.title || humanize(p.id)).join(', ') || '–' }),
    el('td', { text: c.status }));
}

async function search(form) {
  const params = formParams(form);
  const query = new URLSearchParams(params).toString();
  history.replaceState(null, '', query ? `?${query}` : location.pathname);
  showError($('history-error'), '');
  try {
    const found = await searchHistory(params);
    $('results').replaceChildren(...found.map(renderRow));
    $('results-count').textContent = String(found.length);
    $('results-empty').hidden = found.length > 0;
    announce($('polite'), `${found.length} call${found.length === 1 ? '' : 's'} found.`);
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 401)) showError($('history-error'), `Search failed: ${err.message || err}`);
  }
}

async function loadProtocols() {
  try {
    const data = await api('/api/protocols');
    const select = $('f-protocol');
    for (const p of data.protocols || []) select.append(el('option', { value: p.id, text: p.title || humanize(p.id) }));
  } catch {
    // The filter still works by id through the URL.
  }
}

async function main() {
  let user;
  try {
    user = await initSession();
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 401)) showError($('history-error'), `calmline could not be reached: ${err.message || err}`);
    return;
  }
  showConnection('closed');
  $('connection').hidden = true;
  if (!hasRole(user, 'supervisor', 'qa', 'admin', 'auditor')) {
    location.replace(homeFor(user));
    return;
  }
  const form = $('history-form');
  await loadProtocols();
  const initial = new URLSearchParams(location.search);
  for (const name of FIELDS) if (initial.get(name)) form.elements[name].value = initial.get(name);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    search(form);
  });
  form.addEventListener('reset', () => setTimeout(() => search(form), 0));
  search(form);
}

main();
