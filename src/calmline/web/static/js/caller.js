// Caller continuity (docs/CONTINUITY.md): what the agent and the supervisor see of a known caller when the
// caller rings again (earlier calls, open follow-ups, safety plan, screenings; never words), the
// heightened-attention flag, and the forms for the Stanley–Brown safety plan and the C-SSRS screener.
// Every timeline fetch is audited server-side.

import { ApiError, api } from './api.js';
import { el, formatClock, humanize } from './ui.js';

const enc = encodeURIComponent;

export const PLAN_SECTIONS = [
  ['warning_signs', 'Warning signs'],
  ['internal_coping', 'Things I can do on my own'],
  ['social_distraction', 'People and places for distraction'],
  ['help_contacts', 'People I can ask for help'],
  ['professionals', 'Professionals and crisis lines'],
  ['environment_safety', 'Making the environment safe'],
  ['reasons_for_living', 'Reasons for living'],
];

/** The caller of a call and their timeline without this call; null when the role may not see it. */
export async function getCallCaller(callId) {
  try {
    return await api(`/api/calls/${enc(callId)}/caller`);
  } catch (err) {
    if (err instanceof ApiError && err.status === 403) return null;
    throw err;
  }
}

function tierText(tier) {
  return tier && tier !== 'none' ? `${tier} risk` : 'no suicide risk tier';
}

function planBlock(plan) {
  if (!plan) return el('p', { class: 'empty', text: 'No safety plan on record.' });
  const list = el('dl', { class: 'facts' });
  for (const [key, label] of PLAN_SECTIONS) {
    const items = plan.plan[key] || [];
    if (!items.length) continue;
    list.append(el('dt', { text: label }), el('dd', { text: items.join('; ') }));
  }
  return el('div', {},
    el('h3', { text: `Safety plan (version ${plan.version}, ${formatClock(plan.created_at)})` }), list);
}

/** Render the caller panel into ``node`` from the /api/calls/{id}/caller answer; returns true when shown. */
export function renderCaller(node, view, flag) {
  node.replaceChildren();
  if (!view || !view.caller_ref || !view.timeline) {
    node.hidden = true;
    return false;
  }
  const t = view.timeline;
  node.hidden = false;
  node.append(el('h2', { text: 'Known caller' }));
  if (flag) {
    node.append(el('p', { class: 'notice notice-error', role: 'status', text: `Heightened attention: ${flag.reason}.` }));
  }
  const calls = el('ol', { class: 'caller-calls' });
  for (const c of t.calls) {
    const protocols = c.protocols.length ? `; protocols: ${c.protocols.map(humanize).join(', ')}` : '';
    calls.append(el('li', {
      text: `${formatClock(c.started_at)} — ${c.reason || 'no reason given'} — ${tierText(c.highest_tier)}${protocols}; outcome: ${humanize(c.outcome || c.status)}`,
    }));
  }
  node.append(el('h3', { text: `Earlier calls (${t.calls.length})` }),
    t.calls.length ? calls : el('p', { class: 'empty', text: 'No earlier calls.' }));
  const fus = el('ul', {});
  for (const f of t.open_followups) fus.append(el('li', { text: `${humanize(f.kind)} due ${formatClock(f.due_at)}` }));
  node.append(el('h3', { text: `Open follow-ups (${t.open_followups.length})` }),
    t.open_followups.length ? fus : el('p', { class: 'empty', text: 'None open.' }));
  node.append(planBlock(t.safety_plan));
  if (t.screenings.length) {
    const s = t.screenings[0];
    node.append(el('p', { text: `Last C-SSRS screener: ${s.tier} (${formatClock(s.created_at)}).` }));
  }
  return true;
}

/** Wire the safety-plan form (one textarea per section, one entry per line) for ``callerRef``. */
export function wirePlanForm(form, callId, callerRef, onSaved) {
  form.hidden = false;
  form.onsubmit = async (ev) => {
    ev.preventDefault();
    const plan = {};
    for (const [key] of PLAN_SECTIONS) {
      const field = form.elements.namedItem(key);
      plan[key] = field ? field.value.split('\n').map((s) => s.trim()).filter(Boolean) : [];
    }
    const status = form.querySelector('[role=status]');
    try {
      const saved = await api(`/api/callers/${enc(callerRef)}/safety-plan`, {
        method: 'POST', body: { call_id: callId, plan },
      });
      if (status) status.textContent = `Safety plan saved (version ${saved.version}).`;
      if (onSaved) onSaved(saved);
    } catch (err) {
      if (status) status.textContent = `Not saved: ${err.message || err}`;
    }
  };
}

/** Wire the C-SSRS screener form (yes/no radios q1..q6, q6_recent) for ``callerRef``. */
export function wireScreenerForm(form, callId, callerRef, onSaved) {
  form.hidden = false;
  form.onsubmit = async (ev) => {
    ev.preventDefault();
    const value = (name) => {
      const checked = form.querySelector(`input[name="${name}"]:checked`);
      return checked ? checked.value === 'yes' : null;
    };
    const answers = { q1: value('q1') ?? false, q2: value('q2') ?? false, q6: value('q6') ?? false };
    if (answers.q2) for (const q of ['q3', 'q4', 'q5']) answers[q] = value(q) ?? false;
    if (answers.q6) answers.q6_recent = value('q6_recent') ?? false;
    const status = form.querySelector('[role=status]');
    try {
      const saved = await api(`/api/callers/${enc(callerRef)}/screenings`, {
        method: 'POST', body: { call_id: callId, answers },
      });
      if (status) status.textContent = `Screener recorded: ${saved.tier} (the tier the screener implies).`;
      if (onSaved) onSaved(saved);
    } catch (err) {
      if (status) status.textContent = `Not recorded: ${err.message || err}`;
    }
  };
}
