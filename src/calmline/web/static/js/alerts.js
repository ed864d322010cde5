// Alert cards, shared by the wall's inbox and the call page, with their Acknowledge and Resolve actions.

import { BASE, callAction } from './api.js';
import {
  OPEN_STATUSES, countdown, el, formatClock, humanize, parseTime, riskLabel, severityBadge,
} from './ui.js';

export const OUTCOMES = [
  ['handled', 'Handled on the call'],
  ['escalated_to_emergency_services', 'Escalated to emergency services'],
  ['transferred', 'Transferred to a specialist line'],
  ['false_positive', 'False alarm'],
  ['other', 'Other (see note)'],
];

export const isOpen = (alert) => OPEN_STATUSES.has(alert.status);

const NOTIFY_LABELS = {
  supervisor: 'supervisor',
  clinician: 'clinician',
  crisis_line: 'crisis line',
  emergency_services: 'emergency services',
};
export const notifyLabel = (who) => NOTIFY_LABELS[who] || humanize(who);

/** Whether the alert still waits for someone to acknowledge it (so its escalation chain is running). */
export const awaitingAck = (alert) => alert.status === 'raised' || alert.status === 'escalated';

/**
 * Who must acknowledge now and by when ("Notify: clinician · level 2 · escalates in 1:58"), for an alert run
 * by a protocol's escalation chain; null once it is acknowledged or resolved, or for an alert without one.
 * The countdown is a `role="timer"` (not announced every second); `tickCountdowns` keeps it current.
 */
export function chainLine(alert, nowMs = Date.now()) {
  if (!awaitingAck(alert) || (!alert.notify && !alert.escalation_level)) return null;
  const parts = [];
  if (alert.notify) parts.push(`Notify: ${notifyLabel(alert.notify)}`);
  if (alert.escalation_level) parts.push(`level ${alert.escalation_level}`);
  const line = el('p', { class: 'alert-chain' }, parts.join(' · '));
  const deadline = parseTime(alert.ack_deadline);
  if (deadline !== null) {
    const { text, overdue } = countdown(deadline, nowMs);
    line.append(' · ', el('span', {
      class: overdue ? 'countdown overdue' : 'countdown',
      role: 'timer',
      title: `Not acknowledged by ${formatClock(alert.ack_deadline)}, it escalates to the next level`,
      dataset: { deadline: String(deadline) },
      text,
    }));
  }
  return line;
}

function statusText(alert) {
  switch (alert.status) {
    case 'acknowledged':
      return alert.acknowledged_by ? `Acknowledged by ${alert.acknowledged_by}` : 'Acknowledged';
    case 'escalated':
      return 'Escalated, not acknowledged';
    case 'resolved': {
      const who = alert.resolved_by ? ` by ${alert.resolved_by}` : '';
      const outcome = alert.outcome ? `: ${humanize(alert.outcome)}` : '';
      return `Resolved${who}${outcome}`;
    }
    default:
      return 'Not acknowledged';
  }
}

function evidenceItem(finding) {
  const parts = [riskLabel(finding.type)];
  if (finding.level) parts.push(`level ${finding.level}`);
  if (finding.tier) parts.push(`tier ${finding.tier}`);
  if (finding.assertion && finding.assertion !== 'present') parts.push(finding.assertion);
  if (finding.experiencer && finding.experiencer !== 'caller') parts.push(`about ${finding.experiencer}`);
  const text = parts.join(' · ');
  const title = finding.analyzer ? `${finding.analyzer}@${finding.analyzer_version || '?'}` : null;
  return el('li', { text, title });
}

/**
 * Keeps per-alert UI state (pending request, error, open resolve form and its draft) outside the DOM, so
 * that re-rendering a card never loses what the user was doing.
 */
export class AlertActions {
  constructor({ canAct, onChange, onDone }) {
    this.canAct = canAct;
    this.onChange = onChange;
    this.onDone = onDone;
    this.pending = new Map();
    this.errors = new Map();
    this.resolving = new Map();
  }

  signature(alert) {
    const draft = this.resolving.get(alert.alert_id);
    return JSON.stringify([
      alert.status,
      alert.severity,
      alert.title,
      alert.reason,
      alert.acknowledged_by,
      alert.resolved_by,
      alert.outcome,
      alert.notify,
      alert.escalation_level,
      alert.ack_deadline,
      (alert.evidence || []).length,
      this.pending.get(alert.alert_id) || '',
      this.errors.get(alert.alert_id) || '',
      draft ? 'resolving' : '',
    ]);
  }

  async run(alert, kind, body) {
    // Buttons stay focusable while a request is pending (aria-disabled), so the keyboard focus is never lost;
    // a second press does nothing.
    if (this.pending.has(alert.alert_id)) return;
    this.pending.set(alert.alert_id, kind);
    this.errors.delete(alert.alert_id);
    this.onChange();
    try {
      await callAction(alert.call_id, { alert_id: alert.alert_id, ...body });
      this.resolving.delete(alert.alert_id);
      this.onDone(alert, kind, body);
    } catch (err) {
      this.errors.set(alert.alert_id, `Could not ${kind}: ${err.message || err}`);
    } finally {
      this.pending.delete(alert.alert_id);
      this.onChange();
    }
  }

  acknowledge(alert) {
    return this.run(alert, 'acknowledge', { action: 'acknowledge_alert' });
  }

  resolve(alert, outcome, note) {
    const body = { action: 'resolve_alert', outcome };
    if (note) body.note = note;
    return this.run(alert, 'resolve', body);
  }

  /** Build one alert card. `showCall` adds the call link and queue (the wall's inbox). */
  card(alert, { showCall = false, call = null } = {}) {
    const id = alert.alert_id;
    const headingId = `alert-${id.replace(/[^A-Za-z0-9_-]/g, '_')}`;
    const pending = this.pending.get(id);
    const error = this.errors.get(id);
    const draft = this.resolving.get(id);
    const open = isOpen(alert);

    const meta = [];
    if (showCall) {
      meta.push(
        el('a', { href: `${BASE}/calls/${encodeURIComponent(alert.call_id)}`, dataset: { focus: 'call' } },
          `Call ${alert.call_id}`),
      );
      if (call && call.queue) meta.push(` · ${call.queue}`);
      meta.push(' · ');
    }
    meta.push(`raised ${formatClock(alert.raised_at)}`);

    const evidence = alert.evidence || [];
    const article = el('article', { class: 'alert-body', 'aria-labelledby': headingId },
      el('div', { class: 'alert-head' },
        severityBadge(alert.severity),
        el('h3', { id: headingId, text: alert.title || humanize(alert.kind) || 'Alert' }),
      ),
      el('p', { class: `alert-status status-${alert.status}`, text: statusText(alert) }),
      chainLine(alert),
      alert.reason ? el('p', { class: 'alert-reason', text: alert.reason }) : null,
      evidence.length
        ? el('div', { class: 'alert-evidence' },
          el('span', { class: 'label', text: 'Evidence:' }),
          el('ul', { class: 'evidence-list' }, evidence.map(evidenceItem)))
        : null,
      el('p', { class: 'alert-meta' }, meta),
      error ? el('p', { class: 'notice notice-error', role: 'alert', text: error }) : null,
    );

    if (open && this.canAct) {
      if (draft) article.append(this.resolveForm(alert, draft, pending));
      else article.append(this.buttons(alert, pending));
    }
    return el('li', { class: `alert-card sev-${alert.severity || 'none'} status-${alert.status}` }, article);
  }

  buttons(alert, pending) {
    const ack = alert.status === 'acknowledged'
      ? null
      : el('button', {
        type: 'button',
        class: 'btn btn-primary',
        dataset: { focus: 'ack' },
        'aria-disabled': pending ? 'true' : null,
        text: pending === 'acknowledge' ? 'Acknowledging…' : 'Acknowledge',
        onClick: () => this.acknowledge(alert),
      });
    const resolve = el('button', {
      type: 'button',
      class: 'btn',
      dataset: { focus: 'resolve' },
      'aria-disabled': pending ? 'true' : null,
      text: 'Resolve…',
      onClick: () => {
        if (this.pending.has(alert.alert_id)) return;
        this.resolving.set(alert.alert_id, { outcome: OUTCOMES[0][0], note: '' });
        this.onChange();
        // The form replaced the buttons; put the keyboard in it.
        focusLater(alert.alert_id, 'outcome');
      },
    });
    return el('div', { class: 'alert-actions' }, ack, resolve);
  }

  resolveForm(alert, draft, pending) {
    const sid = safeId(alert.alert_id);
    const select = el('select', { id: `outcome-${sid}`, name: 'outcome', dataset: { focus: 'outcome' } },
      OUTCOMES.map(([value, label]) => {
        const option = el('option', { value, text: label });
        option.selected = value === draft.outcome;
        return option;
      }));
    select.addEventListener('change', () => {
      draft.outcome = select.value;
    });
    const note = el('input', { id: `note-${sid}`, name: 'note', type: 'text', maxlength: '2000',
      autocomplete: 'off', dataset: { focus: 'note' } });
    note.value = draft.note;
    note.addEventListener('input', () => {
      draft.note = note.value;
    });
    const form = el('form', { class: 'resolve-form', 'aria-label': `Resolve alert: ${alert.title || ''}` },
      el('div', { class: 'field' }, el('label', { for: `outcome-${sid}`, text: 'Outcome' }), select),
      el('div', { class: 'field' }, el('label', { for: `note-${sid}`, text: 'Note (optional)' }), note),
      el('div', { class: 'alert-actions' },
        el('button', { type: 'submit', class: 'btn btn-primary', dataset: { focus: 'confirm' },
          'aria-disabled': pending ? 'true' : null, text: pending === 'resolve' ? 'Resolving…' : 'Resolve alert' }),
        el('button', { type: 'button', class: 'btn btn-quiet', dataset: { focus: 'cancel' },
          'aria-disabled': pending ? 'true' : null, text: 'Cancel',
          onClick: () => {
            if (pending) return;
            this.resolving.delete(alert.alert_id);
            this.onChange();
            focusLater(alert.alert_id, 'resolve');
          } }),
      ),
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.resolve(alert, draft.outcome, draft.note.trim());
    });
    form.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') {
        this.resolving.delete(alert.alert_id);
        this.onChange();
        focusLater(alert.alert_id, 'resolve');
      }
    });
    return form;
  }
}

function safeId(value) {
  return String(value).replace(/[^A-Za-z0-9_-]/g, '_');
}

/** Focus a card's control after the next render (cards are rebuilt when their state changes). */
function focusLater(alertId, name) {
  requestAnimationFrame(() => {
    const card = document.querySelector(`[data-key="${CSS.escape(alertId)}"]`);
    card?.querySelector(`[data-focus="${name}"]`)?.focus();
  });
}
