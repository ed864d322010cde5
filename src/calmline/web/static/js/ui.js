// Small DOM and formatting helpers shared by the pages. Data only ever reaches the page as textContent or
// attribute values, never as HTML.

import { logout, me, toLogin, userName } from './api.js';

export const SEVERITY_RANK = { info: 0, warning: 1, high: 2, critical: 3 };
export const OPEN_STATUSES = new Set(['raised', 'acknowledged', 'escalated', 'open']);

const RISK_LABELS = {
  suicide_risk: 'Suicide risk',
  self_harm: 'Self-harm',
  medical_emergency: 'Medical emergency',
  violence_threat: 'Violence threat',
  abuse_disclosure: 'Abuse disclosure',
  phi_request_third_party: 'PHI request (3rd party)',
  medical_advice_request: 'Medical advice request',
  legal_advice_request: 'Legal advice request',
  guardrail: 'Agent guardrail',
};
// Risk types that point at harm to a person are shown in the strongest badge style.
const RISK_GRAVE = new Set(['suicide_risk', 'self_harm', 'medical_emergency', 'violence_threat']);

/** Create an element. `attrs` keys: class, text, dataset (object), on<Event> handlers, others as attributes. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = String(value);
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') {
      node.addEventListener(key.slice(2).toLowerCase(), value);
    } else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export const severityRank = (s) => (s in SEVERITY_RANK ? SEVERITY_RANK[s] : -1);
export const riskLabel = (t) => RISK_LABELS[t] || String(t).replace(/_/g, ' ');
export const riskGrave = (t) => RISK_GRAVE.has(t);
export const humanize = (s) => (s ? String(s).replace(/_/g, ' ') : '');

/** A severity badge: its word is always shown, colour and border only reinforce it. */
export function severityBadge(severity) {
  const sev = severity || 'none';
  return el('span', { class: `badge sev sev-${sev}`, text: sev === 'none' ? 'no alert' : sev.toUpperCase() });
}

export const TIER_RANK = { low: 0, moderate: 1, high: 2, imminent: 3 };
export const tierRank = (t) => (t in TIER_RANK ? TIER_RANK[t] : -1);

/** A risk badge with its tier in words ("Suicide risk · IMMINENT"); the tier also sets the style. */
export function tierBadge(type, tier) {
  if (!tier) return riskBadge(type);
  return el('span', {
    class: `badge risk tier tier-${tier} ${riskGrave(type) ? 'risk-grave' : 'risk-other'}`,
    text: `${riskLabel(type)} · ${tier.toUpperCase()}`,
    dataset: { risk: type, tier },
  });
}

/** "just now", "45 s ago", "3 min ago", "2 h ago" for a number of milliseconds. */
export function formatAgo(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 5) return 'just now';
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  return `${Math.floor(s / 3600)} h ago`;
}

export function riskBadge(type) {
  return el('span', {
    class: `badge risk ${riskGrave(type) ? 'risk-grave' : 'risk-other'}`,
    text: riskLabel(type),
    dataset: { risk: type },
  });
}

/** "4:05" or "1:02:09" for a number of seconds. */
export function formatDuration(totalSeconds) {
  const s = Math.max(0, Math.floor(totalSeconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

/**
 * The text of an acknowledgement countdown: "escalates in 0:42" before the deadline, "overdue" (then
 * "overdue by 0:05") after it. Times are epoch milliseconds.
 */
export function countdown(deadlineMs, nowMs) {
  const left = deadlineMs - nowMs;
  if (left > 0) return { text: `escalates in ${formatDuration(Math.ceil(left / 1000))}`, overdue: false };
  const late = Math.floor(-left / 1000);
  return { text: late < 1 ? 'overdue' : `overdue by ${formatDuration(late)}`, overdue: true };
}

/** Refresh every countdown (`[data-deadline]`, epoch ms) under `root`; pages call this once a second. */
export function tickCountdowns(root = document, nowMs = Date.now()) {
  for (const node of root.querySelectorAll('[data-deadline]')) {
    const { text, overdue } = countdown(Number(node.dataset.deadline), nowMs);
    if (node.textContent !== text) node.textContent = text;
    node.classList.toggle('overdue', overdue);
  }
}

export function parseTime(value) {
  if (!value) return null;
  const t = Date.parse(value);
  return Number.isNaN(t) ? null : t;
}

export function formatClock(value) {
  const t = parseTime(value);
  if (t === null) return '';
  return new Date(t).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

export function formatPercent(value) {
  return value === null || value === undefined ? '–' : `${Math.round(value * 100)}%`;
}

/** Put `text` into a live region; clearing first makes screen readers repeat an identical message. */
export function announce(region, text) {
  if (!region) return;
  region.textContent = '';
  window.setTimeout(() => {
    region.textContent = text;
  }, 50);
}

export function showError(node, message) {
  if (!node) return;
  node.textContent = message || '';
  node.hidden = !message;
}

const CONNECTION_TEXT = {
  connecting: 'Connecting…',
  open: 'Live',
  waiting: 'Reconnecting…',
  closed: 'Offline',
};

/** Reflect the live feed's state in the header (word and colour). */
export function showConnection(state, detail) {
  const node = document.getElementById('connection');
  if (!node) return;
  node.dataset.state = state;
  let text = CONNECTION_TEXT[state] || state;
  if (state === 'waiting' && detail && detail.delay) text = `Reconnecting in ${Math.ceil(detail.delay / 1000)} s…`;
  node.textContent = text;
}

/** Load the signed-in user, fill the header and wire the sign-out button. */
export async function initSession() {
  const user = await me();
  const session = document.getElementById('session');
  const who = document.getElementById('who');
  if (who) who.textContent = `${user.display_name || userName(user)} (${(user.roles || []).join(', ')})`;
  const button = document.getElementById('logout');
  if (button) {
    button.addEventListener('click', async () => {
      button.disabled = true;
      try {
        await logout();
      } catch {
        // Signing out must always leave the page, even if the server is unreachable.
      }
      toLogin();
    });
  }
  if (session) session.hidden = false;
  // Each view is offered to the roles it is for (the API enforces its own rules).
  const held = user.roles || [];
  for (const item of document.querySelectorAll('[data-roles]')) {
    item.hidden = !item.dataset.roles.split(' ').some((r) => held.includes(r));
  }
  return user;
}

/**
 * Make `container`'s children match `items` in order, keyed by `keyOf`. A child is rebuilt with `render`
 * only when `sigOf(item)` changed, so untouched tiles keep their DOM (and keyboard focus). When a rebuilt or
 * moved child held the focus, the element with the same `data-focus` name in its replacement gets it back.
 */
export function syncList(container, items, keyOf, render, sigOf) {
  const active = document.activeElement;
  const focusName = active && container.contains(active) ? active.dataset.focus : null;
  const focusKey = focusName ? active.closest('[data-key]')?.dataset.key : null;

  const existing = new Map();
  for (const child of Array.from(container.children)) existing.set(child.dataset.key, child);

  let index = 0;
  for (const item of items) {
    const key = String(keyOf(item));
    const sig = sigOf(item);
    let node = existing.get(key);
    existing.delete(key);
    if (!node || node.dataset.sig !== sig) {
      const fresh = render(item);
      fresh.dataset.key = key;
      fresh.dataset.sig = sig;
      if (node) node.replaceWith(fresh);
      node = fresh;
    }
    const at = container.children[index];
    if (at !== node) container.insertBefore(node, at || null);
    index += 1;
  }
  for (const stale of existing.values()) stale.remove();

  if (focusName && focusKey && !container.contains(document.activeElement)) {
    const owner = Array.from(container.children).find((c) => c.dataset.key === focusKey);
    const target = owner && owner.querySelector(`[data-focus="${CSS.escape(focusName)}"]`);
    if (target && !target.disabled) target.focus();
    else if (owner) (owner.querySelector('button:not([disabled])') || owner.querySelector('a'))?.focus();
  }
}
