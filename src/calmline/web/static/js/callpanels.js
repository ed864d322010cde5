// Panels shared by the call page and the agent panel: guardrail warnings, routing decisions, the log of
// supervisor actions and notes, the intervention buttons, and the call's event timeline. Folding helpers are
// pure (unit-tested under node); the renderers build DOM with `el` (text only, never HTML).

import { callAction } from './api.js';
import { el, formatClock, humanize } from './ui.js';

export const INTERVENTIONS = [
  ['listen', 'Listen', 'Listen in silently'],
  ['whisper', 'Whisper', 'Speak to the agent only'],
  ['barge', 'Barge in', 'Join the call: caller and agent hear you'],
  ['take_over', 'Take over', 'Take the call from the agent'],
  ['request_transfer', 'Request transfer', 'Ask for the call to be transferred'],
];
const ACTION_WORDS = {
  listen: 'listened in', whisper: 'whispered to the agent', barge: 'barged in', take_over: 'took the call over',
  request_transfer: 'requested a transfer', note: 'added a note', acknowledge_alert: 'acknowledged an alert',
  resolve_alert: 'resolved an alert', protocol_action: 'recorded a protocol action',
  verify_caller: 'recorded the caller as verified', request_help: 'asked for help',
};
const GUARDRAIL_SEVERITY = { high: 2, warning: 1, info: 0 };

/**
 * The agent's own words that broke a guardrail, most severe first (only their own words: negated or quoted
 * findings are QA material, not warnings). `findings` are {id, finding}; `utterances` a Map seq -> utterance.
 */
export function guardrailWarnings(findings, utterances = new Map()) {
  return findings
    .filter(({ finding: f }) => f.type === 'guardrail' && (f.assertion || 'present') === 'present')
    .map(({ id, finding: f }) => {
      const u = utterances.get(f.utterance_seq);
      const chars = u && typeof u.text === 'string' ? Array.from(u.text) : null;
      const quote = chars && (f.evidence || []).length
        ? f.evidence.map(([a, b]) => chars.slice(a, b).join('')).join(' … ')
        : null;
      return { id, category: f.level, severity: f.category || 'warning', alternative: f.alternative || null,
        quote, seq: f.utterance_seq ?? null };
    })
    .sort((a, b) => (GUARDRAIL_SEVERITY[b.severity] ?? 0) - (GUARDRAIL_SEVERITY[a.severity] ?? 0) || b.id - a.id);
}

export function renderWarning(w) {
  return el('li', { class: `guardrail sev-${w.severity}` },
    el('p', { class: 'guardrail-head' },
      el('span', { class: `badge sev sev-${w.severity}`, text: w.severity.toUpperCase() }),
      ` ${humanize(w.category)}`, w.seq !== null ? el('span', { class: 'muted', text: ` · turn #${w.seq}` }) : null),
    w.quote ? el('p', { class: 'guardrail-quote' }, 'You said: ', el('q', { text: w.quote })) : null,
    w.alternative ? el('p', { class: 'guardrail-alt' }, 'Instead: ', el('q', { text: w.alternative })) : null);
}

/** One line for a `supervisor.action` row: "10:42:05 sue barged in", with the note or outcome. */
export function actionLine(p) {
  const what = ACTION_WORDS[p.action] || humanize(p.action);
  let detail = '';
  if (p.action === 'note' && p.note) detail = `: ${p.note}`;
  else if (p.action === 'resolve_alert' && p.outcome) detail = ` (${humanize(p.outcome)})`;
  else if (p.action === 'protocol_action') detail = ` (${humanize(p.step_id || p.name)})`;
  return `${formatClock(p.at)} ${p.actor} ${what}${detail}`;
}

export function renderAction([, p]) {
  return el('li', { class: `action action-${p.action}`, text: actionLine(p) });
}

export function renderRouting([, p]) {
  return el('li', { class: 'routing-decision' },
    el('p', {}, el('strong', { text: `${formatClock(p.at)} → ${p.queue}` }),
      p.agent_id ? `, agent ${p.agent_id}` : ', no agent yet', ` · priority ${p.priority}`),
    p.reason ? el('p', { class: 'muted', text: p.reason }) : null);
}

/** A one-line summary of any log row, for the call's timeline. */
export function rowSummary(row) {
  const p = row.payload || {};
  switch (row.type) {
    case 'utterance': return `${humanize(p.speaker)} turn #${p.seq}`;
    case 'finding': return `${humanize(p.finding?.type)} · ${p.finding?.level} · ${p.finding?.assertion || 'present'}`;
    case 'utterance.scored': return `distress ${Math.round((p.distress ?? 0) * 100)}%`;
    case 'alert.raised': case 'alert.escalated': return `${p.severity} · ${p.title || p.alert_id}`;
    case 'alert.acknowledged': case 'alert.resolved': return `${p.alert_id} by ${p.by}${p.outcome ? ` (${humanize(p.outcome)})` : ''}`;
    case 'checklist.step': return `${humanize(p.protocol_id)}: ${humanize(p.step_id)} ${p.status}${p.by ? ` (${p.by})` : ''}`;
    case 'protocol.activated': case 'protocol.exited': return p.title || humanize(p.protocol_id);
    case 'supervisor.action': return actionLine(p);
    case 'routing.decision': return `to ${p.queue}${p.agent_id ? `, ${p.agent_id}` : ''}`;
    case 'suggestion': return p.reason || '';
    default: return '';
  }
}

export function renderTimelineRow(row) {
  const p = row.payload || {};
  const at = p.at || p.started_at || null;
  return el('li', { class: `tl-row tl-${row.kind}` },
    el('span', { class: 'tl-when mono', text: at ? formatClock(at) : '' }),
    el('span', { class: 'tl-type mono', text: row.type }),
    el('span', { class: 'tl-what', text: rowSummary(row) }));
}

/**
 * The intervention buttons of the call page. Each posts a `supervisor.action`; the server records it and
 * hands it to the telephony adapter, and the answer says whether that worked.
 */
export function interventionButtons(callId, { onResult }) {
  const pending = new Set();
  return INTERVENTIONS.map(([kind, label, title]) => el('button', {
    type: 'button', class: 'btn', title, dataset: { action: kind },
    onClick: async (event) => {
      const button = event.currentTarget;
      if (pending.has(kind)) return;
      pending.add(kind);
      button.setAttribute('aria-disabled', 'true');
      try {
        const result = await callAction(callId, { action: kind });
        onResult(kind, label, result && result.telephony === 'failed' ? 'failed' : 'sent', null);
      } catch (err) {
        onResult(kind, label, 'error', err);
      } finally {
        pending.delete(kind);
        button.removeAttribute('aria-disabled');
      }
    },
  }, label));
}
