// One call: the transcript with each finding's evidence highlighted, caller distress per turn, the crisis
// protocols running on it (checklists), the call's alerts (with actions) and its findings. Built from the
// timeline, then kept live by the feed.

import {
  ApiError, callAction, canActOnAlerts, canActOnProtocols, canWatchLive, getCall, getMaskedTimeline,
  getReplay, getTimeline, hasRole, homeFor, userName,
} from './api.js';
import {
  guardrailWarnings, interventionButtons, renderAction, renderRouting, renderTimelineRow, renderWarning,
} from './callpanels.js';
import { AlertActions, isOpen, notifyLabel } from './alerts.js';
import { getCallCaller, renderCaller, wirePlanForm, wireScreenerForm } from './caller.js';
import { LiveFeed } from './live.js';
import { segments } from './highlight.js';
import { ProtocolPanel, applyProtocolRow, byUrgency } from './protocols.js';
import { drawDistress } from './spark.js';
import {
  announce, el, formatClock, formatDuration, formatPercent, humanize, initSession, parseTime, riskLabel,
  severityRank, showConnection, showError, syncList, tickCountdowns,
} from './ui.js';

const page = document.getElementById('call-page');
const callId = page.dataset.callId;
const $ = (id) => document.getElementById(id);

const state = {
  call: null,
  utterances: new Map(), // seq -> utterance payload
  findings: [], // {id, finding}
  findingIds: new Set(),
  scores: new Map(), // utterance_seq -> utterance.scored payload
  alerts: new Map(),
  protocols: new Map(), // protocol id -> protocol (see protocols.js)
  suggestions: new Map(), // log row id -> suggestion payload
  verification: null, // the caller.verified payload, once the caller's identity and authority were checked
  actions: new Map(), // log row id -> supervisor.action payload (notes, interventions, help requests)
  routing: new Map(), // log row id -> routing.decision payload
  rows: new Map(), // log row id -> row, for the timeline
  callerFlag: null, // the caller.flagged payload: a known caller at heightened attention (continuity)
  caller: null, // /api/calls/{id}/caller: the caller's timeline without this call
  ended: false,
};
let user = null;
let actions = null;
let protocolPanel = null;
let renderQueued = false;

// ---- state -------------------------------------------------------------------------------------------

/** The escalation chain fields an alert row may carry (a protocol runs the alert's chain). */
function chainOf(p) {
  return {
    notify: p.notify ?? null, escalation_level: p.escalation_level ?? null, ack_deadline: p.ack_deadline ?? null,
  };
}

function applyRow(row, { live = false } = {}) {
  const p = row.payload || {};
  if (typeof row.id === 'number') state.rows.set(row.id, row);
  if (applyProtocolRow(state.protocols, row)) {
    if (live && row.type === 'protocol.activated') {
      announce($('polite'), `Protocol started: ${p.title || p.protocol_id}. See its checklist under Protocols.`);
    }
    queueRender();
    return;
  }
  switch (row.type) {
    case 'call.started':
      state.call = { ...(state.call || {}), queue: p.queue, agent_id: p.agent_id, language: p.language,
        reason: p.reason, started_at: p.started_at };
      break;
    case 'call.transferred':
      if (state.call && p.to_queue) state.call.queue = p.to_queue;
      if (state.call && p.to_agent) state.call.agent_id = p.to_agent;
      break;
    case 'call.ended':
      state.ended = true;
      if (state.call) Object.assign(state.call, { status: 'ended', ended_at: p.at });
      break;
    case 'utterance':
      if (typeof p.seq === 'number') state.utterances.set(p.seq, p);
      break;
    case 'utterance.scored':
      state.scores.set(p.utterance_seq, p);
      break;
    case 'finding':
      if (p.finding && !state.findingIds.has(row.id)) {
        state.findingIds.add(row.id);
        state.findings.push({ id: row.id, finding: p.finding });
      }
      break;
    case 'alert.raised': {
      if (state.alerts.has(p.alert_id)) break;
      const alert = { alert_id: p.alert_id, call_id: callId, severity: p.severity, kind: p.kind,
        title: p.title, reason: p.reason, evidence: p.evidence || [], status: 'raised', raised_at: p.at,
        ...chainOf(p) };
      state.alerts.set(p.alert_id, alert);
      if (live && severityRank(p.severity) >= 2) {
        announce($('announcer'), `${p.severity.toUpperCase()} alert raised on this call: ${p.title || ''}`);
      }
      break;
    }
    case 'alert.escalated': {
      const alert = state.alerts.get(p.alert_id);
      if (!alert) break;
      if (alert.status === 'resolved') break;
      Object.assign(alert, { severity: p.severity, status: 'escalated' });
      if (p.reason) alert.reason = p.reason;
      // Only a protocol's escalation carries the chain; a policy escalation (severity) leaves it as it was.
      if (p.protocol_id) Object.assign(alert, chainOf(p));
      if (live && severityRank(p.severity) >= 2) {
        const who = p.notify ? ` Notify ${notifyLabel(p.notify)} (level ${p.escalation_level ?? '?'}).` : '';
        announce($('announcer'), `Alert escalated to ${p.severity.toUpperCase()}: ${alert.title || ''}.${who}`);
      }
      break;
    }
    case 'suggestion':
      state.suggestions.set(row.id, p);
      break;
    case 'caller.verified':
      state.verification = p;
      break;
    case 'caller.flagged':
      state.callerFlag = p;
      if (live) announce($('announcer'), `Known caller at heightened attention: ${p.reason}.`);
      renderCaller($('call-caller'), state.caller, state.callerFlag);
      break;
    case 'supervisor.action':
      state.actions.set(row.id, p);
      if (live && p.action === 'request_help') announce($('announcer'), `${p.actor} asks for help on this call.`);
      break;
    case 'routing.decision':
      state.routing.set(row.id, p);
      break;
    case 'alert.acknowledged': {
      const alert = state.alerts.get(p.alert_id);
      if (alert && alert.status !== 'resolved') {
        Object.assign(alert, { status: 'acknowledged', acknowledged_by: p.by, ack_deadline: null });
      }
      break;
    }
    case 'alert.resolved': {
      const alert = state.alerts.get(p.alert_id);
      if (alert) {
        Object.assign(alert, { status: 'resolved', resolved_by: p.by, outcome: p.outcome, ack_deadline: null });
      }
      break;
    }
    default:
      return;
  }
  queueRender();
}

// ---- transcript and highlighting ------------------------------------------------------------------------

function describeFinding(f) {
  const parts = [riskLabel(f.type), `level ${f.level}`];
  if (f.tier) parts.push(`tier ${f.tier}`);
  parts.push(f.assertion || 'present');
  if (f.experiencer && f.experiencer !== 'caller') parts.push(`about ${f.experiencer}`);
  parts.push(`analyzer ${f.analyzer}@${f.analyzer_version}`);
  return parts.join(' · ');
}

// What the API shows roles that may not read the transcript (admin, auditor): spans would point into nothing.
const REDACTED = '[redacted]';

const inContext = (f) => f.assertion && f.assertion !== 'present' && f.assertion !== 'uncertain';

function findingsFor(seq) {
  return state.findings.filter((r) => r.finding.utterance_seq === seq);
}

function utteranceSig(u) {
  const score = state.scores.get(u.seq);
  return JSON.stringify([u.text, u.speaker, findingsFor(u.seq).map((r) => r.id),
    score ? [score.distress, score.escalating] : null]);
}

function renderUtterance(u) {
  const marks = findingsFor(u.seq);
  const text = String(u.text ?? '');
  const redacted = text === REDACTED;
  const body = el('p', { class: redacted ? 'utt-text redacted' : 'utt-text' });
  for (const seg of segments(text, redacted ? [] : marks)) {
    if (!seg.findings.length) {
      body.append(document.createTextNode(seg.text));
      continue;
    }
    const context = seg.findings.every(inContext);
    body.append(el('mark', {
      class: context ? 'evidence evidence-context' : 'evidence',
      title: seg.findings.map(describeFinding).join('\n'),
      dataset: { types: seg.findings.map((f) => f.type).join(' ') },
      text: seg.text,
    }));
  }

  const score = state.scores.get(u.seq);
  const meta = [el('span', { class: `speaker speaker-${u.speaker}`, text: humanize(u.speaker) }),
    el('span', { class: 'when', text: `#${u.seq} · ${formatDuration((u.start_ms || 0) / 1000)}` })];
  if (score && typeof score.distress === 'number') {
    const fill = el('span', { class: 'bar-fill' });
    fill.style.width = `${Math.round(score.distress * 100)}%`;
    meta.push(el('span', { class: 'turn-distress' },
      `distress ${formatPercent(score.distress)}${score.escalating ? ', rising' : ''}`,
      el('span', { class: 'bar bar-mini', 'aria-hidden': 'true' }, fill)));
  }
  const chips = marks.length
    ? el('ul', { class: 'utt-findings', 'aria-label': 'Findings in this turn' },
      marks.map(({ finding }) => el('li', {
        class: `chip${inContext(finding) ? ' chip-context' : ''}`,
        text: `${riskLabel(finding.type)} · ${finding.level} · ${finding.assertion || 'present'}` +
          (finding.experiencer && finding.experiencer !== 'caller' ? ` · about ${finding.experiencer}` : ''),
        title: describeFinding(finding),
      })))
    : null;
  return el('li', { class: `utt utt-${u.speaker}` }, el('div', { class: 'utt-meta' }, meta), body, chips);
}

// ---- panels ----------------------------------------------------------------------------------------------

function renderFacts() {
  const c = state.call || {};
  const started = parseTime(c.started_at);
  const endedAt = parseTime(c.ended_at);
  const duration = started === null ? '–' : formatDuration(((endedAt ?? Date.now()) - started) / 1000);
  const facts = [
    ['Status', state.ended || c.status === 'ended' ? 'Ended' : 'Active'],
    ['Queue', c.queue || '–'],
    ['Agent', c.agent_id || 'unassigned'],
    ['Language', c.language || '–'],
    ['Started', started === null ? '–' : formatClock(c.started_at)],
    ['Duration', duration],
  ];
  const v = state.verification;
  facts.push(['Caller', v ? `verified: ${humanize(v.relation || 'identity')} (${humanize(v.method)}, by ${v.by})`
    : 'not verified: share nothing about a patient yet']);
  if (c.reason) facts.push(['Reason', c.reason]);
  if (c.gaps) facts.push(['Transcript gaps', String(c.gaps)]);
  $('verify-form').hidden = Boolean(v) || state.ended || !canActOnProtocols(user);
  $('facts').replaceChildren(...facts.map(([k, v]) =>
    el('div', {}, el('dt', { text: k }), el('dd', { text: v, dataset: k === 'Duration' ? { live: '1' } : {} }))));
}

function renderFindings() {
  const rows = state.findings.map(({ finding: f }) => el('tr', { class: inContext(f) ? 'row-context' : '' },
    el('td', { text: f.utterance_seq ?? '–' }),
    el('td', { text: riskLabel(f.type) }),
    el('td', { text: f.level }),
    el('td', { text: f.tier || '–' }),
    el('td', { text: f.assertion || 'present' }),
    el('td', { text: f.experiencer || 'caller' }),
    el('td', { class: 'num', text: typeof f.score === 'number' ? f.score.toFixed(2) : '–' }),
    el('td', { class: 'mono', text: `${f.analyzer}@${f.analyzer_version}` })));
  $('findings').replaceChildren(...rows);
  $('findings-empty').hidden = rows.length > 0;
}

function renderChart() {
  const points = [...state.scores.values()]
    .filter((s) => typeof s.distress === 'number')
    .sort((a, b) => a.utterance_seq - b.utterance_seq)
    .map((s) => ({ turn: s.utterance_seq, distress: s.distress, smoothed: s.distress_smoothed,
      escalating: s.escalating }));
  $('distress-summary').textContent = drawDistress($('distress-chart'), points);
}

function render() {
  renderQueued = false;
  renderFacts();
  const utterances = [...state.utterances.values()].sort((a, b) => a.seq - b.seq);
  syncList($('transcript'), utterances, (u) => u.seq, renderUtterance, utteranceSig);
  $('transcript-empty').hidden = utterances.length > 0;

  const alerts = [...state.alerts.values()].sort((a, b) =>
    Number(isOpen(b)) - Number(isOpen(a))
    || severityRank(b.severity) - severityRank(a.severity)
    || (parseTime(b.raised_at) ?? 0) - (parseTime(a.raised_at) ?? 0));
  const protocols = [...state.protocols.values()].sort(byUrgency);
  syncList($('call-protocols'), protocols, (p) => p.id, (p) => protocolPanel.card(p),
    (p) => protocolPanel.signature(p));
  $('protocols-empty').hidden = protocols.length > 0;

  syncList($('call-alerts'), alerts, (a) => a.alert_id, (a) => actions.card(a), (a) => actions.signature(a));
  $('alerts-empty').hidden = alerts.length > 0;

  // Newest first, the last five: an agent under stress needs the phrase for now, not a history.
  const suggestions = [...state.suggestions.entries()].sort((a, b) => b[0] - a[0]).slice(0, 5);
  syncList($('call-suggestions'), suggestions, ([id]) => id, renderSuggestion, ([id, s]) => `${id}:${s.text}`);
  $('suggestions-empty').hidden = suggestions.length > 0;

  const warnings = guardrailWarnings(state.findings, state.utterances);
  syncList($('call-guardrails'), warnings, (w) => w.id, renderWarning, (w) => JSON.stringify(w));
  $('guardrails-empty').hidden = warnings.length > 0;

  const actionRows = [...state.actions.entries()].sort((a, b) => b[0] - a[0]);
  syncList($('call-actions'), actionRows, ([id]) => id, renderAction, ([id, p]) => `${id}:${p.action}`);
  $('actions-empty').hidden = actionRows.length > 0;
  const routing = [...state.routing.entries()].sort((a, b) => a[0] - b[0]);
  syncList($('call-routing'), routing, ([id]) => id, renderRouting, ([id]) => String(id));
  $('routing-empty').hidden = routing.length > 0;
  $('interventions').hidden = state.ended || !hasRole(user, 'supervisor', 'admin');
  $('note-form').hidden = !canActOnProtocols(user);

  $('timeline-count').textContent = String(state.rows.size);
  if ($('timeline-details').open) renderTimeline();

  renderFindings();
  renderChart();
}

function renderTimeline() {
  const rows = [...state.rows.values()].sort((a, b) => a.id - b.id);
  syncList($('call-timeline'), rows, (r) => r.id, renderTimelineRow, (r) => String(r.id));
}

function setUpPanels() {
  $('intervention-buttons').replaceChildren(...interventionButtons(callId, {
    onResult: (kind, label, outcome, err) => {
      const text = outcome === 'sent' ? `${label}: recorded and sent to the phone system.`
        : outcome === 'failed' ? `${label}: recorded, but the phone system did not take it. Try again or use the phone.`
          : `${label}: could not be recorded (${err && err.message ? err.message : err}).`;
      $('intervention-status').textContent = text;
    },
  }));
  const form = $('note-form');
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const text = $('note-text').value.trim();
    if (!text) return;
    const button = form.querySelector('button');
    button.disabled = true;
    $('note-error').hidden = true;
    try {
      await callAction(callId, { action: 'note', note: text });
      $('note-text').value = '';
      announce($('polite'), 'Note saved.');
    } catch (err) {
      showError($('note-error'), `Could not save the note: ${err.message || err}`);
    } finally {
      button.disabled = false;
    }
  });
  $('timeline-details').addEventListener('toggle', () => {
    if ($('timeline-details').open) renderTimeline();
  });
  if (hasRole(user, 'supervisor', 'qa', 'admin', 'auditor')) {
    const button = $('replay-check');
    button.hidden = false;
    button.addEventListener('click', async () => {
      button.disabled = true;
      $('replay-result').textContent = 'Replaying…';
      try {
        const report = await getReplay(callId);
        $('replay-result').textContent = report.ok
          ? `Replay matches the log: ${report.outputs} outputs re-derived from ${report.inputs} inputs.`
          : `Replay differs from the log in ${report.differences.length} place(s).`;
      } catch (err) {
        $('replay-result').textContent = `Could not replay: ${err.message || err}`;
      } finally {
        button.disabled = false;
      }
    });
  }
}

function setUpVerification() {
  const form = $('verify-form');
  if (!canActOnProtocols(user)) return;
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const button = form.querySelector('button');
    button.disabled = true;
    $('verify-error').hidden = true;
    try {
      await callAction(callId, {
        action: 'verify_caller', relation: $('verify-relation').value, method: $('verify-method').value,
      });
      state.verification = { relation: $('verify-relation').value, method: $('verify-method').value, by: userName(user) };
      announce($('polite'), 'Caller recorded as verified.');
      queueRender();
    } catch (err) {
      showError($('verify-error'), `Could not record it: ${err.message || err}`);
    } finally {
      button.disabled = false;
    }
  });
}

function renderSuggestion([, s]) {
  return el('li', { class: 'suggestion' },
    el('p', { class: 'suggestion-text', text: s.text }),
    el('p', { class: 'suggestion-why' }, `${s.reason} · `, el('cite', { text: s.source })));
}

function queueRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(render);
}

// ---- start -------------------------------------------------------------------------------------------

async function main() {
  try {
    user = await initSession();
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 401)) {
      showError($('call-error'), `calmline could not be reached: ${err.message || err}`);
    }
    return;
  }
  actions = new AlertActions({
    canAct: canActOnAlerts(user),
    onChange: queueRender,
    onDone: (alert, kind, body) => {
      const current = state.alerts.get(alert.alert_id);
      if (!current) return;
      if (kind === 'acknowledge' && current.status !== 'resolved') {
        Object.assign(current, { status: 'acknowledged', acknowledged_by: userName(user) });
      }
      if (kind === 'resolve') Object.assign(current, { status: 'resolved', resolved_by: userName(user), outcome: body.outcome });
    },
  });

  protocolPanel = new ProtocolPanel({
    callId,
    canAct: canActOnProtocols(user),
    isLive: () => !state.ended,
    onChange: queueRender,
    onDone: (protocol, step) => {
      // Show the result at once; the feed's checklist.step row confirms it moments later.
      const current = state.protocols.get(protocol.id)?.steps.get(step.id);
      if (current && current.status === 'due') Object.assign(current, { status: 'done', by: userName(user) });
      announce($('polite'), `Step done: ${step.prompt || step.id}`);
    },
  });

  setUpVerification();
  setUpPanels();
  const back = $('back-link');
  if (!hasRole(user, 'supervisor', 'admin')) {
    back.href = homeFor(user);
    back.textContent = hasRole(user, 'agent') ? '← My calls' : '← Call history';
  }
  // Roles that may not read the words as spoken get them with identifiers masked.
  const readsText = hasRole(user, 'supervisor', 'agent', 'qa');
  $('masked-note').hidden = readsText;

  let lastId = null;
  try {
    const [call, timeline] = await Promise.all([getCall(callId),
      readsText ? getTimeline(callId) : getMaskedTimeline(callId)]);
    state.call = call;
    state.ended = call && call.status === 'ended';
    for (const row of timeline) {
      applyRow(row);
      if (typeof row.id === 'number' && (lastId === null || row.id > lastId)) lastId = row.id;
    }
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) {
      showError($('call-error'), 'There is no call with this id, or you may not see it.');
    } else if (!(err instanceof ApiError && err.status === 401)) {
      showError($('call-error'), `Could not load the call: ${err.message || err}`);
    }
    return;
  }
  queueRender();
  loadCaller(); // caller continuity: a known caller's earlier calls, follow-ups, safety plan

  setInterval(() => {
    if (!state.ended) renderFacts();
    tickCountdowns($('call-alerts'));
  }, 1000);
  if (!canWatchLive(user)) {
    showConnection('closed');
    return;
  }
  const feed = new LiveFeed({
    after: lastId ?? 0,
    onRow: (row) => {
      if ((row.stream || (row.payload && row.payload.call_id)) === callId) applyRow(row, { live: true });
    },
    onState: showConnection,
  });
  feed.start();
}

async function loadCaller() {
  let view = null;
  try {
    view = await getCallCaller(callId);
  } catch {
    return; // the caller panel is an addition: the call page works without it
  }
  state.caller = view;
  if (!renderCaller($('call-caller'), view, state.callerFlag)) return;
  const refresh = () => loadCaller();
  wirePlanForm($('safety-plan-form'), callId, view.caller_ref, refresh);
  wireScreenerForm($('cssrs-form'), callId, view.caller_ref, refresh);
}

main();
