// The supervisor live wall: tiles for active calls, sorted by need, and the open-alert inbox, kept current by
// the live feed. State is two maps (calls, alerts); every row from the feed is applied idempotently, so a
// REST snapshot and the rows that raced with it can be combined in any order.

import {
  ApiError, BASE, canActOnAlerts, canWatchLive, getBoard, getCall, getFloor, hasRole, homeFor, listCalls,
  listOpenAlerts, resumePoint, userName,
} from './api.js';
import { AlertActions, isOpen, notifyLabel } from './alerts.js';
import { AlertSound } from './audio.js';
import { FloorPanel } from './floor.js';
import { LiveFeed } from './live.js';
import { applyProtocolRow } from './protocols.js';
import { drawSparkline } from './spark.js';
import {
  announce, el, formatAgo, formatDuration, formatPercent, initSession, parseTime, riskLabel, severityBadge,
  severityRank, showConnection, showError, syncList, tickCountdowns, tierBadge, tierRank,
} from './ui.js';
import { byNeed, currentProtocol, needsAckNow, topTier } from './need.js';

const RESYNC_MS = 60000;
const FLOOR_MS = 5000;
const FLOOR_UNCONFIGURED_MS = 60000;
// Distress points kept per call for the tile's sparkline.
const TRAJECTORY_POINTS = 40;
// When the feed has to start from the beginning of the log (no resume point), rows older than this are
// history: they update the wall but are not announced.
const ANNOUNCE_WINDOW_MS = 120000;

const calls = new Map();
const alerts = new Map();
const ended = new Set();
const announced = new Set();
// Supervisor actions that answer an agent's request for help (the board folds the same rule).
const ANSWERS_HELP = new Set(['listen', 'whisper', 'barge', 'take_over', 'request_transfer', 'note', 'acknowledge_alert']);
let user = null;
let actions = null;
let pendingRows = null; // rows that arrived while a snapshot was loading
let renderQueued = false;
let syncing = null;
let replayingHistory = false;
let firstSnapshot = true;
let boardAvailable = true;
const sound = new AlertSound();

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
    tiers: new Map(Object.entries(raw.tiers || {})),
    trajectory: new Map((raw.trajectory || []).map(([seq, v]) => [seq, v])),
    protocols: protocolsFrom(raw.protocols),
    last_alert_at: raw.last_alert_at || null,
    help_at: raw.help_requested_at || null,
    help_by: raw.help_requested_by || null,
  };
}

/** The board's protocols in the shape `applyProtocolRow` keeps, so live rows continue from the snapshot. */
function protocolsFrom(list) {
  const map = new Map();
  for (const p of list || []) {
    map.set(p.id, {
      id: p.id, title: p.title, severity: p.severity, status: p.active ? 'active' : 'exited',
      activated_at: p.active ? 'snapshot' : null, follow_up: null,
      steps: new Map((p.steps || []).map((s) => [s.id, { id: s.id, required: s.required !== false,
        status: s.status || 'due', script: [] }])),
    });
  }
  return map;
}

function noteTier(call, f) {
  if (!f.tier || !f.type) return false;
  if (!(f.assertion === 'present' || f.assertion === 'uncertain' || !f.assertion)) return false;
  if ((f.experiencer && f.experiencer !== 'caller') || (f.speaker && f.speaker !== 'caller')) return false;
  if (tierRank(f.tier) > tierRank(call.tiers.get(f.type))) {
    call.tiers.set(f.type, f.tier);
    return true;
  }
  return false;
}

const laterOf = (a, b) => ((parseTime(b) ?? -Infinity) > (parseTime(a) ?? -Infinity) ? b : a);

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
        for (const [t, tier] of known.tiers) if (tierRank(tier) > tierRank(fresh.tiers.get(t))) fresh.tiers.set(t, tier);
        for (const [seq, v] of known.trajectory) fresh.trajectory.set(seq, v);
        fresh.protocols = known.protocols;
        fresh.last_alert_at = known.last_alert_at;
        Object.assign(fresh, { help_at: known.help_at, help_by: known.help_by });
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
  if (severityRank(alert.severity) >= 3 || (alert.evidence || []).some((f) => f.tier === 'imminent')) sound.beep();
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
        const value = p.distress_smoothed ?? p.distress;
        if (typeof value === 'number') {
          call.trajectory.set(p.utterance_seq ?? call.trajectory.size, value);
          if (call.trajectory.size > TRAJECTORY_POINTS) {
            call.trajectory.delete(Math.min(...call.trajectory.keys()));
          }
        }
      }
      break;
    }
    case 'finding': {
      const f = p.finding || {};
      const call = ensureCall(callId);
      if (call && f.type && (f.assertion === 'present' || f.assertion === 'uncertain' || !f.assertion)) {
        call.risk_types.add(f.type);
      }
      if (call && noteTier(call, f) && f.tier === 'imminent' && !silent) {
        announce($('announcer'), `IMMINENT ${riskLabel(f.type)} on call ${callId}${call.queue ? ` (${call.queue})` : ''}.`);
        sound.beep();
      }
      break;
    }
    case 'protocol.activated':
    case 'protocol.exited':
    case 'checklist.step':
    case 'followup.scheduled': {
      const call = ensureCall(callId);
      if (call) applyProtocolRow(call.protocols, row);
      break;
    }
    case 'supervisor.action': {
      const call = ensureCall(callId);
      if (!call) break;
      if (p.action === 'request_help') {
        Object.assign(call, { help_at: laterOf(call.help_at, p.at), help_by: p.actor });
        if (!silent) announce($('announcer'), `Agent ${p.actor} asks for help on call ${callId}.`);
        if (!silent) sound.beep();
      } else if (call.help_at && ANSWERS_HELP.has(p.action) && p.actor !== call.help_by) {
        Object.assign(call, { help_at: null, help_by: null });
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
      const call = calls.get(callId);
      if (call) call.last_alert_at = laterOf(call.last_alert_at, p.at);
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
      const call = calls.get(callId);
      if (call) call.last_alert_at = laterOf(call.last_alert_at, p.at);
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

/** Active calls with their trajectories and protocols (the board); plain summaries where it is not offered. */
async function loadCalls() {
  if (boardAvailable) {
    try {
      const board = await getBoard();
      return board.calls || [];
    } catch (err) {
      if (!(err instanceof ApiError) || (err.status !== 404 && err.status !== 403)) throw err;
      boardAvailable = false;
    }
  }
  return listCalls('active', 1000);
}

async function loadSnapshot() {
  pendingRows = [];
  try {
    const [callRows, alertRows] = await Promise.all([loadCalls(), listOpenAlerts()]);
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
  const tier = topTier(call.tiers);
  return {
    call, open, tier, severity: topSeverity(open), imminent: tier === 'imminent' && open.length > 0,
    help: Boolean(call.help_at), protocol: currentProtocol(call.protocols),
  };
}

const trajectoryOf = (call) => [...call.trajectory.entries()].sort((a, b) => a[0] - b[0]).map(([, v]) => v);

function tileSig(view) {
  const c = view.call;
  return JSON.stringify([c.queue, c.agent_id, c.started_at, c.distress === null ? null : Math.round(c.distress * 100),
    c.escalating, [...c.risk_types].sort(), [...c.tiers].sort(), trajectoryOf(c).map((v) => Math.round(v * 100)),
    c.gaps, view.severity, view.open.length, view.protocol, c.last_alert_at, c.help_at]);
}

function sparkline(values) {
  const svg = $('spark-template').content.firstElementChild.cloneNode(true);
  drawSparkline(svg, values);
  return svg;
}

function sinceText(prefix, at) {
  const t = parseTime(at);
  return t === null ? null : `${prefix} ${formatAgo(Date.now() - t)}`;
}

function renderTile(view) {
  const { call, open, severity, protocol } = view;
  const level = distressLevel(call.distress);
  const headingId = `tile-${call.call_id.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  const distressText = call.distress === null
    ? 'Distress: not scored yet'
    : `Distress ${formatPercent(call.distress)} (${level})${call.escalating ? ', rising' : ''}`;
  const started = parseTime(call.started_at);
  const trajectory = trajectoryOf(call);

  const risks = [...call.risk_types].sort((a, b) =>
    tierRank(call.tiers.get(b)) - tierRank(call.tiers.get(a)) || riskLabel(a).localeCompare(riskLabel(b)));
  const lastAlert = parseTime(call.last_alert_at);
  const help = parseTime(call.help_at);
  return el('li', { class: `tile sev-${severity || 'none'}${view.imminent ? ' imminent' : ''}${help !== null ? ' help' : ''}` },
    el('article', { 'aria-labelledby': headingId },
      el('div', { class: 'tile-head' },
        el('h3', { id: headingId },
          el('a', { href: `${BASE}/calls/${encodeURIComponent(call.call_id)}`, dataset: { focus: 'link' } },
            call.call_id)),
        severityBadge(severity),
      ),
      help !== null
        ? el('p', { class: 'help-flag' }, el('span', { 'aria-hidden': 'true', text: '✋ ' }),
          `${call.help_by || 'The agent'} asked for help `,
          el('span', { class: 'since', dataset: { since: String(help) }, text: formatAgo(Date.now() - help) }))
        : null,
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
        trajectory.length > 1
          ? el('div', { class: 'spark-wrap', title: `Distress over the last ${trajectory.length} caller turns` },
            sparkline(trajectory))
          : el('span', { class: 'bar', 'aria-hidden': 'true' }, barFill(call.distress, level)),
      ),
      risks.length
        ? el('ul', { class: 'badges', 'aria-label': 'Risks' },
          risks.map((t) => el('li', {}, tierBadge(t, call.tiers.get(t)))))
        : null,
      protocol
        ? el('p', { class: `tile-protocol sev-${protocol.severity || 'none'}` },
          el('span', { class: 'label', text: 'Protocol: ' }), protocol.title,
          el('span', { class: 'progress', text: ` · ${protocol.done}/${protocol.total} steps` }),
          protocol.active > 1 ? ` (+${protocol.active - 1} more)` : '')
        : null,
      el('p', { class: `open-alerts${open.length ? ' has-open' : ''}` },
        open.length === 1 ? '1 open alert' : `${open.length} open alerts`,
        lastAlert !== null
          ? [' · last alert ', el('span', { class: 'since', dataset: { since: String(lastAlert) },
            text: formatAgo(Date.now() - lastAlert) })]
          : ' · no alert yet',
        call.gaps ? ` · ${call.gaps} transcript gap${call.gaps === 1 ? '' : 's'}` : ''),
    ),
  );
}

function barFill(distress, level) {
  const fill = el('span', { class: `bar-fill level-${level}` });
  fill.style.width = `${Math.round((distress ?? 0) * 100)}%`;
  return fill;
}

function renderBanner(open) {
  const urgent = needsAckNow(open);
  const banner = $('urgent-banner');
  banner.hidden = urgent.length === 0;
  if (!urgent.length) return;
  const callsText = [...new Set(urgent.map((a) => a.call_id))].join(', ');
  $('urgent-text').textContent = `${urgent.length} urgent alert${urgent.length === 1 ? '' : 's'} not acknowledged ` +
    `(imminent risk or critical) on call${urgent.length === 1 ? '' : 's'} ${callsText}.`;
}

function render() {
  renderQueued = false;
  const views = [...calls.values()].map(tileView).sort(byNeed);
  syncList($('tiles'), views, (v) => v.call.call_id, renderTile, tileSig);
  $('calls-count').textContent = String(views.length);
  $('tiles-empty').hidden = views.length > 0;

  const open = [...alerts.values()].filter(isOpen).sort((a, b) =>
    Number(needsAckNow([b]).length) - Number(needsAckNow([a]).length)
    || severityRank(b.severity) - severityRank(a.severity)
    || (parseTime(b.raised_at) ?? 0) - (parseTime(a.raised_at) ?? 0));
  syncList($('alert-list'), open, (a) => a.alert_id,
    (a) => actions.card(a, { showCall: true, call: calls.get(a.call_id) }),
    (a) => actions.signature(a) + (calls.get(a.call_id)?.queue || ''));
  $('inbox-count').textContent = String(open.length);
  $('inbox-empty').hidden = open.length > 0;
  renderBanner(open);

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
  for (const node of document.querySelectorAll('#tiles [data-since]')) {
    const text = formatAgo(now - Number(node.dataset.since));
    if (node.textContent !== text) node.textContent = text;
  }
  tickCountdowns($('alert-list'), now);
}

// ---- floor (routing) ---------------------------------------------------------------------------------

async function pollFloor(panel) {
  let wait = FLOOR_MS;
  try {
    const floor = await getFloor();
    if (floor === null) {
      panel.unconfigured();
      wait = FLOOR_UNCONFIGURED_MS;
    } else {
      panel.render(floor);
    }
  } catch (err) {
    if (err instanceof ApiError && err.status === 403) {
      panel.failed('it is for supervisors and administrators');
      return;
    }
    if (!(err instanceof ApiError && err.status === 401)) panel.failed(err.message || String(err));
  }
  setTimeout(() => pollFloor(panel), wait);
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
  if (!hasRole(user, 'supervisor', 'admin', 'qa', 'auditor')) {
    // Agents have their own panel.
    location.replace(homeFor(user));
    return;
  }
  sound.bindToggle($('sound-toggle'));
  $('urgent-link').addEventListener('click', (event) => {
    event.preventDefault();
    $('inbox-title').focus();
    $('inbox').scrollIntoView({ block: 'start' });
  });
  if (hasRole(user, 'supervisor', 'admin')) pollFloor(new FloorPanel($('floor')));
  else $('floor').hidden = true;
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
