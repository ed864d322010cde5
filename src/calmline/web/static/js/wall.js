// The supervisor live wall: tiles for active calls, sorted by need, and the open-alert inbox, kept current by
// the live feed. State is two maps (calls, alerts); every row from the feed is applied idempotently, so a
// REST snapshot and the rows that raced with it can be combined in any order.

import {
  ApiError, BASE, canActOnAlerts, canWatchLive, getCall, listCalls, listOpenAlerts, resumePoint, userName,
} from './api.js';
import { AlertActions, isOpen, notifyLabel } from './alerts.js';
import { LiveFeed } from './live.js';
import {
  announce, el, formatDuration, formatPercent, initSession, parseTime, riskBadge, riskLabel, severityBadge,
  severityRank, showConnection, showError, syncList, tickCountdowns,
} from './ui.js';

const RESYNC_MS = 60000;
// When the feed has to start from the beginning of the log (no resume point), rows older than this are
// history: they update the wall but are not announced.
const ANNOUNCE_WINDOW_MS = 120000;

const calls = new Map();
const alerts = new Map();
const ended = new Set();
const announced = new Set();
let user = null;
let actions = null;
let pendingRows = null; // rows that arrived while a snapshot was loading
let renderQueued = false;
let syncing = null;
let replayingHistory = false;
let firstSnapshot = true;

const $ = (id) => document.getElementById(id);

// ---- state -------------------------------------------------------------------------------------------

function callFrom(raw) {
  return {
    call_id: raw.call_id,
    queue: raw.queue || null,
    agent_id: raw.agent_id || null,
    language: raw.language || null,
    started_at: raw.started_at || null,
    distress: typeof raw.distress === 'number' ? raw.distress : null,
    escalating: Boolean(raw.escalating),
    risk_types: new Set(raw.risk_types || []),
    gaps: raw.gaps || 0,
  };
}

function ensureCall(callId) {
  if (!callId || ended.has(callId)) return null;
  let call = calls.get(callId);
  if (!call) {
    call = callFrom({ call_id: callId });
    calls.set(callId, call);
    // The feed told us about a call the snapshot did not have: fetch its summary.
    getCall(callId).then((raw) => {
      if (raw && raw.status !== 'ended' && calls.has(callId)) {
        const fresh = callFrom(raw);
        const known = calls.get(callId);
        for (const t of known.risk_types) fresh.risk_types.add(t);
        calls.set(callId, fresh);
        queueRender();
      }
    }).catch(() => {});
  }
  return call;
}

function applySnapshot(callRows, alertRows) {
  calls.clear();
  for (const raw of callRows) {
    if (raw.status && raw.status !== 'active') continue;
    calls.set(raw.call_id, callFrom(raw));
    ended.delete(raw.call_id);
  }
  alerts.clear();
  for (const raw of alertRows) {
    alerts.set(raw.alert_id, { ...raw });
    announced.add(announceKey(raw));
  }
}

function isRecent(payload) {
  const at = parseTime(payload && (payload.at || payload.started_at));
  return at !== null && Date.now() - at < ANNOUNCE_WINDOW_MS;
}

// A new severity or a new escalation level (an unacknowledged protocol alert moving up its chain) is news.
const announceKey = (alert) => `${alert.alert_id}:${alert.severity}:${alert.escalation_level ?? 0}`;

/** The escalation chain fields an alert row may carry (a protocol runs the alert's chain). */
function chainOf(p) {
  return {
    notify: p.notify ?? null, escalation_level: p.escalation_level ?? null, ack_deadline: p.ack_deadline ?? null,
  };
}

function maybeAnnounce(alert, verb, quiet) {
  if (severityRank(alert.severity) < 2) return;
  const key = announceKey(alert);
  if (announced.has(key)) return;
  announced.add(key);
  if (quiet) return;
  const call = calls.get(alert.call_id);
  const where = call && call.queue ? ` (${call.queue})` : '';
  const who = alert.notify ? ` Notify ${notifyLabel(alert.notify)}, level ${alert.escalation_level ?? '?'}.` : '';
  announce($('announcer'),
    `${alert.severity.toUpperCase()} alert ${verb} on call ${alert.call_id}${where}: ${alert.title || ''}.${who}`);
}

/** Apply one log row from the live feed. Safe to apply twice. */
function applyRow(row, { quiet = false } = {}) {
  const p = row.payload || {};
  const callId = row.stream || p.call_id;
  const silent = quiet || (replayingHistory && !isRecent(p));
  switch (row.type) {
    case 'call.started': {
      if (ended.has(callId)) break;
      const call = ensureCall(callId);
      Object.assign(call, {
        queue: p.queue || call.queue, agent_id: p.agent_id || call.agent_id,
        language: p.language || call.language, started_at: p.started_at || call.started_at,
      });
      break;
    }
    case 'call.transferred': {
      const call = ensureCall(callId);
      if (call && p.to_queue) call.queue = p.to_queue;
      if (call && p.to_agent) call.agent_id = p.to_agent;
      break;
    }
    case 'call.ended':
      ended.add(callId);
      calls.delete(callId);
      break;
    case 'utterance.scored': {
      const call = ensureCall(callId);
      if (call) {
        call.distress = p.distress_smoothed ?? p.distress ?? call.distress;
        call.escalating = Boolean(p.escalating);
      }
      break;
    }
    case 'finding': {
      const f = p.finding || {};
      const call = ensureCall(callId);
      if (call && f.type && (f.assertion === 'present' || f.assertion === 'uncertain' || !f.assertion)) {
        call.risk_types.add(f.type);
      }
      break;
    }
    case 'sequence.gap': {
      const call = ensureCall(callId);
      if (call) call.gaps += 1;
      break;
    }
    case 'alert.raised': {
      const existing = alerts.get(p.alert_id);
      if (existing && !isOpen(existing)) break;
      const alert = {
        ...(existing || {}),
        alert_id: p.alert_id, call_id: callId, severity: existing ? existing.severity : p.severity,
        kind: p.kind, title: p.title, reason: p.reason, evidence: p.evidence || [],
        status: existing ? existing.status : 'raised', raised_at: p.at, updated_at: p.at,
        // The snapshot may already hold a later escalation level than this (replayed) first row.
        ...(existing ? {} : chainOf(p)),
      };
      alerts.set(p.alert_id, alert);
      maybeAnnounce(alert, 'raised', silent);
      break;
    }
    case 'alert.escalated': {
      const alert = alerts.get(p.alert_id);
      if (!alert) break;
      Object.assign(alert, { severity: p.severity, status: 'escalated', updated_at: p.at });
      if (p.reason) alert.reason = p.reason;
      // Only a protocol's escalation carries the chain; a policy escalation (severity) leaves it as it was. A
      // row replayed after a snapshot never moves the chain back down.
      if (p.protocol_id && (p.escalation_level ?? 0) >= (alert.escalation_level ?? 0)) Object.assign(alert, chainOf(p));
      maybeAnnounce(alert, 'escalated', silent);
      break;
    }
    case 'alert.acknowledged': {
      const alert = alerts.get(p.alert_id);
      if (alert && isOpen(alert)) {
        Object.assign(alert, { status: 'acknowledged', acknowledged_by: p.by, ack_deadline: null });
      }
      break;
    }
    case 'alert.resolved':
      alerts.delete(p.alert_id);
      // Remember it as closed so a replayed "raised" row cannot bring it back.
      alerts.set(p.alert_id, { alert_id: p.alert_id, call_id: callId, status: 'resolved' });
      break;
    default:
      return;
  }
  queueRender();
}

function onRow(row) {
  if (pendingRows) pendingRows.push(row);
  applyRow(row);
}

/** Reload calls and open alerts, then re-apply the feed rows that raced with the requests. */
function resync() {
  if (!syncing) {
    syncing = loadSnapshot().finally(() => {
      syncing = null;
    });
  }
  return syncing;
}

async function loadSnapshot() {
  pendingRows = [];
  try {
    const [callRows, alertRows] = await Promise.all([listCalls('active'), listOpenAlerts()]);
    applySnapshot(callRows, alertRows);
    for (const row of pendingRows) applyRow(row, { quiet: true });
    showError($('wall-error'), '');
    if (firstSnapshot) {
      firstSnapshot = false;
      const open = alertRows.filter(isOpen);
      const urgent = open.filter((a) => severityRank(a.severity) >= 2).length;
      const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;
      announce($('polite'), `${plural(callRows.length, 'active call')}, ${plural(open.length, 'open alert')}` +
        (urgent ? `, ${urgent} high or critical.` : '.'));
    }
  } catch (err) {
    if (err instanceof ApiError && err.status === 403) {
      showError($('wall-error'), 'The live wall is for supervisors, QA, administrators and auditors.');
    } else if (!(err instanceof ApiError && err.status === 401)) {
      showError($('wall-error'), `Could not load the wall: ${err.message || err}. Retrying.`);
    }
  } finally {
    pendingRows = null;
    queueRender();
  }
}

// ---- rendering ---------------------------------------------------------------------------------------

function openAlertsOf(callId) {
  const list = [];
  for (const alert of alerts.values()) if (alert.call_id === callId && isOpen(alert)) list.push(alert);
  return list;
}

function topSeverity(list) {
  let best = null;
  for (const a of list) if (best === null || severityRank(a.severity) > severityRank(best)) best = a.severity;
  return best;
}

function distressLevel(value) {
  if (value === null || value === undefined) return 'unknown';
  if (value >= 0.7) return 'high';
  if (value >= 0.4) return 'elevated';
  return 'low';
}

function tileView(call) {
  const open = openAlertsOf(call.call_id);
  return { call, open, severity: topSeverity(open) };
}

function byNeed(a, b) {
  return (
    severityRank(b.severity) - severityRank(a.severity)
    || (b.call.distress ?? -1) - (a.call.distress ?? -1)
    || b.open.length - a.open.length
    || (parseTime(a.call.started_at) ?? Infinity) - (parseTime(b.call.started_at) ?? Infinity)
    || a.call.call_id.localeCompare(b.call.call_id)
  );
}

function tileSig(view) {
  const c = view.call;
  return JSON.stringify([c.queue, c.agent_id, c.started_at, c.distress === null ? null : Math.round(c.distress * 100),
    c.escalating, [...c.risk_types].sort(), c.gaps, view.severity, view.open.length]);
}

function renderTile(view) {
  const { call, open, severity } = view;
  const level = distressLevel(call.distress);
  const headingId = `tile-${call.call_id.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  const distressText = call.distress === null
    ? 'Distress: not scored yet'
    : `Distress ${formatPercent(call.distress)} (${level})${call.escalating ? ', rising' : ''}`;
  const fill = el('span', { class: `bar-fill level-${level}` });
  fill.style.width = `${Math.round((call.distress ?? 0) * 100)}%`;
  const started = parseTime(call.started_at);

  const risks = [...call.risk_types].sort((a, b) => riskLabel(a).localeCompare(riskLabel(b)));
  return el('li', { class: `tile sev-${severity || 'none'}` },
    el('article', { 'aria-labelledby': headingId },
      el('div', { class: 'tile-head' },
        el('h3', { id: headingId },
          el('a', { href: `${BASE}/calls/${encodeURIComponent(call.call_id)}`, dataset: { focus: 'link' } },
            call.call_id)),
        severityBadge(severity),
      ),
      el('dl', { class: 'tile-facts' },
        el('div', {}, el('dt', { text: 'Queue' }), el('dd', { text: call.queue || '–' })),
        el('div', {}, el('dt', { text: 'Agent' }), el('dd', { text: call.agent_id || 'unassigned' })),
        el('div', {}, el('dt', { text: 'Duration' }),
          el('dd', { class: 'duration', dataset: started === null ? {} : { started: String(started) },
            text: started === null ? '–' : formatDuration((Date.now() - started) / 1000) })),
      ),
      el('div', { class: 'distress' },
        el('p', { class: `distress-label level-${level}` }, distressText,
          call.escalating ? el('span', { class: 'trend', 'aria-hidden': 'true', text: ' ▲' }) : null),
        el('span', { class: 'bar', 'aria-hidden': 'true' }, fill),
      ),
      risks.length
        ? el('ul', { class: 'badges', 'aria-label': 'Risks' }, risks.map((t) => el('li', {}, riskBadge(t))))
        : null,
      el('p', { class: `open-alerts${open.length ? ' has-open' : ''}` },
        open.length === 1 ? '1 open alert' : `${open.length} open alerts`,
        call.gaps ? ` · ${call.gaps} transcript gap${call.gaps === 1 ? '' : 's'}` : ''),
    ),
  );
}

function render() {
  renderQueued = false;
  const views = [...calls.values()].map(tileView).sort(byNeed);
  syncList($('tiles'), views, (v) => v.call.call_id, renderTile, tileSig);
  $('calls-count').textContent = String(views.length);
  $('tiles-empty').hidden = views.length > 0;

  const open = [...alerts.values()].filter(isOpen).sort((a, b) =>
    severityRank(b.severity) - severityRank(a.severity)
    || (parseTime(b.raised_at) ?? 0) - (parseTime(a.raised_at) ?? 0));
  syncList($('alert-list'), open, (a) => a.alert_id,
    (a) => actions.card(a, { showCall: true, call: calls.get(a.call_id) }),
    (a) => actions.signature(a) + (calls.get(a.call_id)?.queue || ''));
  $('inbox-count').textContent = String(open.length);
  $('inbox-empty').hidden = open.length > 0;

  const urgent = open.filter((a) => severityRank(a.severity) >= 2).length;
  document.title = `${urgent ? `(${urgent}) ` : ''}Live wall · calmline`;
}

function queueRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(render);
}

function tickDurations() {
  const now = Date.now();
  for (const node of document.querySelectorAll('#tiles [data-started]')) {
    node.textContent = formatDuration((now - Number(node.dataset.started)) / 1000);
  }
  tickCountdowns($('alert-list'), now);
}

// ---- start -------------------------------------------------------------------------------------------

async function main() {
  try {
    user = await initSession();
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 401)) {
      showError($('wall-error'), `calmline could not be reached: ${err.message || err}`);
    }
    return;
  }
  actions = new AlertActions({
    canAct: canActOnAlerts(user),
    onChange: queueRender,
    onDone: (alert, kind, body) => {
      // Show the result at once; the feed's row confirms it moments later.
      const current = alerts.get(alert.alert_id);
      if (!current) return;
      if (kind === 'acknowledge') Object.assign(current, { status: 'acknowledged', acknowledged_by: userName(user) });
      if (kind === 'resolve') Object.assign(current, { status: 'resolved', outcome: body.outcome });
      announce($('polite'), `Alert ${kind === 'resolve' ? 'resolved' : 'acknowledged'}: ${alert.title || ''}`);
    },
  });

  let feed = null;
  if (canWatchLive(user)) {
    let after = 0;
    try {
      after = await resumePoint();
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) return;
      // Could not find a resume point: the feed replays the whole log, which is slow but complete.
    }
    replayingHistory = after === 0;
    feed = new LiveFeed({ after, onRow, onState: showConnection, onAuthLost: () => resync() });
    // Start the feed first: resync() buffers every row that arrives while the snapshot loads.
    feed.start();
  } else {
    showConnection('closed');
  }
  await resync();

  setInterval(tickDurations, 1000);
  // The feed keeps the wall current; this periodic reload only repairs drift (and is all a role without
  // live access gets).
  setInterval(resync, feed ? RESYNC_MS : RESYNC_MS / 4);
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') {
      if (feed) feed.reconnectNow();
      resync();
    }
  });
}

main();
