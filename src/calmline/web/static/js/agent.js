// The agent's panel: their own calls (a call's agent_id is the agent's username), and for the call in hand the
// protocol checklist with its script lines, guardrail warnings and suggested words as they happen, the
// verification form, and the "Request help" and "I need a break" buttons. Built from the API, kept live by
// the feed.

import {
  ApiError, BASE, callAction, getTimeline, hasRole, homeFor, listCalls, resumePoint, setNeedBreak, userName,
} from './api.js';
import { guardrailWarnings, renderWarning } from './callpanels.js';
import { getCallCaller, renderCaller } from './caller.js';
import { LiveFeed } from './live.js';
import { ProtocolPanel, applyProtocolRow, byUrgency } from './protocols.js';
import {
  announce, el, formatClock, formatDuration, humanize, initSession, parseTime, showConnection, showError, syncList,
} from './ui.js';

const $ = (id) => document.getElementById(id);

const mine = new Map(); // call_id -> {call_id, queue, status, started_at, ended_at}
let user = null;
let me = '';
let selected = null; // call id
let call = null; // the selected call's state (see blank())
let panel = null;
let renderQueued = false;
let needBreak = false;

function blank(callId) {
  return {
    id: callId, loading: true, buffer: [], utterances: new Map(), findings: [], findingIds: new Set(),
    protocols: new Map(), suggestions: new Map(), verification: null, ended: false, callerFlag: null, caller: null,
  };
}

// ---- state -------------------------------------------------------------------------------------------

function noteCall(row) {
  const p = row.payload || {};
  const id = row.stream || p.call_id;
  if (row.type === 'call.started' && p.agent_id === me) {
    mine.set(id, { call_id: id, queue: p.queue, status: 'active', started_at: p.started_at });
    // A new call is the one in hand now.
    select(id);
    announce($('polite'), `New call ${id} on ${p.queue || 'your queue'}.`);
    return true;
  }
  if (row.type === 'call.transferred' && p.to_agent === me && !mine.has(id)) {
    mine.set(id, { call_id: id, queue: p.to_queue, status: 'active', started_at: p.at });
    return true;
  }
  if (row.type === 'call.transferred' && p.to_agent && p.to_agent !== me && mine.has(id)) {
    mine.get(id).status = 'transferred';
    return true;
  }
  if (row.type === 'call.ended' && mine.has(id)) {
    Object.assign(mine.get(id), { status: 'ended', ended_at: p.at });
    return true;
  }
  return false;
}

function applyToCall(row, live) {
  const p = row.payload || {};
  if (applyProtocolRow(call.protocols, row)) {
    if (live && row.type === 'protocol.activated') {
      announce($('announcer'), `Protocol started: ${p.title || p.protocol_id}. Your checklist is below.`);
    }
    return;
  }
  switch (row.type) {
    case 'utterance':
      if (typeof p.seq === 'number') call.utterances.set(p.seq, p);
      break;
    case 'finding':
      if (p.finding && !call.findingIds.has(row.id)) {
        call.findingIds.add(row.id);
        call.findings.push({ id: row.id, finding: p.finding });
        const f = p.finding;
        if (live && f.type === 'guardrail' && (f.assertion || 'present') === 'present') {
          announce($('announcer'), `Guardrail: ${humanize(f.level)}.${f.alternative ? ` Instead: ${f.alternative}` : ''}`);
        }
      }
      break;
    case 'suggestion':
      call.suggestions.set(row.id, p);
      break;
    case 'caller.verified':
      call.verification = p;
      break;
    case 'caller.flagged': // a known caller starts at heightened attention (caller continuity)
      call.callerFlag = p;
      if (live) announce($('announcer'), `Known caller at heightened attention: ${p.reason}.`);
      renderCaller($('agent-caller'), call.caller, call.callerFlag);
      break;
    case 'call.ended':
      call.ended = true;
      break;
    default:
  }
}

function onRow(row) {
  const changed = noteCall(row);
  const id = row.stream || (row.payload && row.payload.call_id);
  if (call && id === call.id) {
    if (call.loading) call.buffer.push(row);
    else applyToCall(row, true);
    queueRender();
  } else if (changed) {
    queueRender();
  }
}

async function select(callId) {
  selected = callId;
  call = blank(callId);
  queueRender();
  try {
    const rows = await getTimeline(callId);
    if (!call || call.id !== callId) return;
    for (const row of rows) applyToCall(row, false);
    for (const row of call.buffer) applyToCall(row, true);
  } catch (err) {
    showError($('agent-error'), `Could not load call ${callId}: ${err.message || err}`);
  } finally {
    if (call && call.id === callId) {
      call.loading = false;
      call.buffer = [];
    }
    queueRender();
  }
  loadCaller(callId);
}

/** Caller continuity: the known caller's earlier calls, open follow-ups and safety plan (audited). */
async function loadCaller(callId) {
  let view = null;
  try {
    view = await getCallCaller(callId);
  } catch {
    return; // the panel is an addition: the agent page works without it
  }
  if (!call || call.id !== callId) return;
  call.caller = view;
  renderCaller($('agent-caller'), call.caller, call.callerFlag);
}

// ---- rendering ---------------------------------------------------------------------------------------

function renderCallItem(c) {
  const current = c.call_id === selected;
  const started = parseTime(c.started_at);
  return el('li', { class: `my-call status-${c.status}` },
    el('button', {
      type: 'button', class: `btn my-call-button${current ? ' btn-primary' : ''}`,
      'aria-current': current ? 'true' : null, dataset: { focus: 'pick' },
      onClick: () => { if (c.call_id !== selected) select(c.call_id); },
    },
    el('span', { class: 'mono', text: c.call_id }),
    el('span', { class: 'my-call-meta', text: ` ${c.queue || ''} · ${c.status === 'active' ? 'on the line' : c.status}` +
      (started !== null ? ` · ${formatClock(c.started_at)}` : '') })));
}

function renderSuggestion([, s]) {
  return el('li', { class: 'suggestion' },
    el('p', { class: 'suggestion-text', text: s.text }),
    el('p', { class: 'suggestion-why' }, `${s.reason} · `, el('cite', { text: s.source })));
}

function render() {
  renderQueued = false;
  const list = [...mine.values()].sort((a, b) => Number(b.status === 'active') - Number(a.status === 'active')
    || (parseTime(b.started_at) ?? 0) - (parseTime(a.started_at) ?? 0));
  syncList($('my-calls'), list, (c) => c.call_id, renderCallItem, (c) => `${c.status}:${c.call_id === selected}`);
  $('my-calls-count').textContent = String(list.filter((c) => c.status === 'active').length);
  $('my-calls-empty').hidden = list.length > 0;

  const active = call && !call.ended && mine.get(call.id)?.status === 'active';
  $('help-button').disabled = !active;
  if (!call) {
    $('current-title').textContent = 'No call selected';
    $('agent-facts').replaceChildren();
    $('verify-form').hidden = true;
    $('open-call').hidden = true;
  } else {
    const summary = mine.get(call.id) || {};
    $('current-title').textContent = `Call ${call.id}`;
    const started = parseTime(summary.started_at);
    const v = call.verification;
    const facts = [
      ['Status', call.ended ? 'Ended' : call.loading ? 'Loading…' : 'On the line'],
      ['Queue', summary.queue || '–'],
      ['Duration', started === null ? '–' : formatDuration(((parseTime(summary.ended_at) ?? Date.now()) - started) / 1000)],
      ['Caller', v ? `verified: ${humanize(v.relation || 'identity')} (${humanize(v.method)})`
        : 'not verified: share nothing about a patient yet'],
    ];
    $('agent-facts').replaceChildren(...facts.map(([k, val]) => el('div', {}, el('dt', { text: k }), el('dd', { text: val }))));
    $('verify-form').hidden = Boolean(v) || call.ended || call.loading;
    $('open-call').hidden = false;
    $('open-call-link').href = `${BASE}/calls/${encodeURIComponent(call.id)}`;
  }

  const warnings = call ? guardrailWarnings(call.findings, call.utterances) : [];
  syncList($('agent-guardrails'), warnings, (w) => w.id, renderWarning, (w) => JSON.stringify(w));
  $('agent-guardrails-empty').hidden = warnings.length > 0;

  const protocols = call ? [...call.protocols.values()].sort(byUrgency) : [];
  syncList($('agent-protocols'), protocols, (p) => p.id, (p) => panel.card(p), (p) => panel.signature(p));
  $('agent-protocols-empty').hidden = protocols.length > 0;

  const suggestions = call ? [...call.suggestions.entries()].sort((a, b) => b[0] - a[0]).slice(0, 5) : [];
  syncList($('agent-suggestions'), suggestions, ([id]) => id, renderSuggestion, ([id, s]) => `${id}:${s.text}`);
  $('agent-suggestions-empty').hidden = suggestions.length > 0;
}

function queueRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(render);
}

// ---- buttons -----------------------------------------------------------------------------------------

function setUpButtons() {
  const help = $('help-button');
  help.addEventListener('click', async () => {
    if (!call) return;
    help.disabled = true;
    try {
      await callAction(call.id, { action: 'request_help' });
      const text = `Help requested on call ${call.id} at ${formatClock(new Date().toISOString())}: a supervisor has been alerted.`;
      $('agent-status').textContent = text;
    } catch (err) {
      $('agent-status').textContent = `Could not ask for help: ${err.message || err}. Use the phone or raise your hand.`;
    } finally {
      queueRender();
    }
  });

  const rest = $('break-button');
  rest.addEventListener('click', async () => {
    const wanted = !needBreak;
    rest.setAttribute('aria-disabled', 'true');
    try {
      await setNeedBreak(me, wanted);
      needBreak = wanted;
      rest.setAttribute('aria-pressed', String(needBreak));
      $('agent-status').textContent = needBreak
        ? 'Break requested: no new calls will be routed to you once this one ends.'
        : 'Break request withdrawn.';
    } catch (err) {
      $('agent-status').textContent = err instanceof ApiError && err.status === 404
        ? 'Break requests are not available here yet (routing is not configured): tell your supervisor.'
        : `Could not send the break request: ${err.message || err}`;
    } finally {
      rest.removeAttribute('aria-disabled');
    }
  });

  const form = $('verify-form');
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!call) return;
    const button = form.querySelector('button');
    button.disabled = true;
    $('verify-error').hidden = true;
    try {
      const body = { action: 'verify_caller', relation: $('verify-relation').value, method: $('verify-method').value };
      await callAction(call.id, body);
      call.verification = { ...body, by: userName(user) };
      announce($('polite'), 'Caller recorded as verified.');
      queueRender();
    } catch (err) {
      showError($('verify-error'), `Could not record it: ${err.message || err}`);
    } finally {
      button.disabled = false;
    }
  });
}

// ---- start -------------------------------------------------------------------------------------------

async function main() {
  try {
    user = await initSession();
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 401)) {
      showError($('agent-error'), `calmline could not be reached: ${err.message || err}`);
    }
    return;
  }
  if (!hasRole(user, 'agent')) {
    location.replace(homeFor(user));
    return;
  }
  me = userName(user);
  panel = new ProtocolPanel({
    callId: () => (call ? call.id : null),
    canAct: true,
    isLive: () => Boolean(call && !call.ended),
    onChange: queueRender,
    scriptsOpen: true,
    onDone: (protocol, step) => {
      const current = call?.protocols.get(protocol.id)?.steps.get(step.id);
      if (current && current.status === 'due') Object.assign(current, { status: 'done', by: me });
      announce($('polite'), `Step done: ${step.prompt || step.id}`);
    },
  });
  setUpButtons();

  let after = 0;
  try {
    after = await resumePoint();
    const [active, ended] = await Promise.all([listCalls('active', 1000), listCalls('ended', 200)]);
    for (const c of [...ended, ...active]) {
      if (c.agent_id === me) mine.set(c.call_id, { ...c });
    }
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return;
    showError($('agent-error'), `Could not load your calls: ${err.message || err}`);
  }
  const wanted = new URLSearchParams(location.search).get('call');
  const first = [...mine.values()].filter((c) => c.status === 'active')
    .sort((a, b) => (parseTime(b.started_at) ?? 0) - (parseTime(a.started_at) ?? 0))[0];
  if (wanted && mine.has(wanted)) select(wanted);
  else if (first) select(first.call_id);
  queueRender();

  const feed = new LiveFeed({ after, onRow, onState: showConnection });
  feed.start();
  setInterval(() => { if (call && !call.ended) queueRender(); }, 1000);
}

main();
