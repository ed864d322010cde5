// Crisis protocols on one call: the state folded from log rows (no DOM, unit-tested under node) and the
// "Protocols" panel that shows each protocol's checklist, with "Mark done" for the steps still due.

import { markStepDone } from './api.js';
import { el, formatClock, humanize, severityBadge, severityRank } from './ui.js';

/**
 * Apply one log row to `protocols` (a Map of protocol id -> protocol). Returns whether it was a protocol row.
 * Safe to apply twice and in timeline order: a step's prompt, script and required flag come from its "due"
 * row; a later "done" row (which carries none of them) only changes its status and who did it.
 */
export function applyProtocolRow(protocols, row) {
  const p = row.payload || {};
  switch (row.type) {
    case 'protocol.activated': {
      const current = protocols.get(p.protocol_id);
      // A protocol runs once per call; a replayed activation must not reopen one that has exited.
      if (current && current.activated_at) return true;
      protocols.set(p.protocol_id, {
        ...(current || blank(p.protocol_id)),
        version: p.version, title: p.title, severity: p.severity, reason: p.reason,
        alert_id: p.alert_id || null, activated_at: p.at,
      });
      return true;
    }
    case 'protocol.exited': {
      const protocol = ensure(protocols, p.protocol_id);
      Object.assign(protocol, { status: 'exited', exit_reason: p.reason, exited_at: p.at });
      return true;
    }
    case 'checklist.step': {
      const protocol = ensure(protocols, p.protocol_id);
      let step = protocol.steps.get(p.step_id);
      if (!step) {
        step = { id: p.step_id, prompt: null, script: [], required: true, status: 'due', by: null, at: null };
        protocol.steps.set(p.step_id, step);
      }
      if (p.status === 'due') {
        if (p.prompt) step.prompt = p.prompt;
        if (Array.isArray(p.script) && p.script.length) step.script = p.script;
        if (typeof p.required === 'boolean') step.required = p.required;
        // "due" never undoes a step already done (rows can be re-applied after a reconnect).
        if (step.status !== 'done' && step.status !== 'skipped') step.status = 'due';
      } else if (p.status === 'done' || p.status === 'skipped') {
        Object.assign(step, { status: p.status, by: p.by || null, at: p.at || null });
      }
      return true;
    }
    case 'followup.scheduled': {
      const protocol = ensure(protocols, p.protocol_id);
      protocol.follow_up = { kind: p.kind, due_by: p.due_by };
      return true;
    }
    default:
      return false;
  }
}

function blank(id) {
  return {
    id, version: null, title: null, severity: null, reason: null, alert_id: null, activated_at: null,
    status: 'active', exit_reason: null, exited_at: null, follow_up: null, steps: new Map(),
  };
}

function ensure(protocols, id) {
  let protocol = protocols.get(id);
  if (!protocol) {
    protocol = blank(id);
    protocols.set(id, protocol);
  }
  return protocol;
}

/**
 * Who or what completed a step, in words: "by sue" for a person, "heard on the call (asked location)" when the
 * agent's words completed it (an intent), "on transfer" for the call's transfer.
 */
export function completedBy(by) {
  if (!by) return '';
  if (by.startsWith('intent:')) return `heard on the call (${humanize(by.slice('intent:'.length))})`;
  if (by === 'call.transferred') return 'on transfer';
  return `by ${by}`;
}

/** The status of a step in words; the panel never shows it by colour alone. */
export function stepStatusText(step, protocolActive = true) {
  const how = completedBy(step.by);
  switch (step.status) {
    case 'done':
      return how.startsWith('by ') || how.startsWith('on ') ? `Done ${how}` : how ? `Done: ${how}` : 'Done';
    case 'skipped':
      return how ? `Skipped (${how})` : 'Skipped';
    default:
      return protocolActive ? 'Due' : 'Not done';
  }
}

/** "3 of 4 required steps done" (optional steps are counted apart). */
export function progressText(protocol) {
  const steps = [...protocol.steps.values()];
  const required = steps.filter((s) => s.required);
  const done = required.filter((s) => s.status === 'done').length;
  const optional = steps.length - required.length;
  return `${done} of ${required.length} required step${required.length === 1 ? '' : 's'} done` +
    (optional ? `, ${optional} optional` : '');
}

/** Active protocols first, then the most severe, then the newest. */
export function byUrgency(a, b) {
  return Number(b.status === 'active') - Number(a.status === 'active')
    || severityRank(b.severity) - severityRank(a.severity)
    || String(b.activated_at || '').localeCompare(String(a.activated_at || ''));
}

// A glyph beside the status word (hidden from screen readers, which read the word).
const STEP_MARKS = { done: '✓', skipped: '–', due: '○' };

const safeId = (value) => String(value).replace(/[^A-Za-z0-9_-]/g, '_');

/**
 * Builds protocol cards, and keeps the per-step UI state (request pending, error) outside the DOM so a
 * re-render never loses it.
 */
export class ProtocolPanel {
  /**
   * @param {object} opts
   * @param {string|(() => string)} opts.callId  the call (a function when the panel follows the selected call)
   * @param {boolean} opts.canAct  whether the user may check steps off (agents, supervisors, admins)
   * @param {() => boolean} opts.isLive  false once the call has ended (steps can no longer be checked off)
   * @param {() => void} opts.onChange  re-render
   * @param {(protocol: object, step: object) => void} opts.onDone  the server accepted a step as done
   */
  constructor({ callId, canAct, isLive, onChange, onDone, scriptsOpen = false }) {
    // scriptsOpen: show the suggested words of due steps unfolded (the agent panel).
    Object.assign(this, { callId, canAct, isLive, onChange, onDone, scriptsOpen });
    this.pending = new Set(); // "protocol/step"
    this.errors = new Map(); // "protocol/step" -> message
  }

  signature(protocol) {
    const steps = [...protocol.steps.values()].map((s) => {
      const key = `${protocol.id}/${s.id}`;
      return [s.id, s.status, s.by, s.prompt, s.script.length, s.required, this.pending.has(key),
        this.errors.get(key) || ''];
    });
    return JSON.stringify([protocol.title, protocol.version, protocol.severity, protocol.status,
      protocol.reason, protocol.exit_reason, protocol.follow_up, this.isLive(), steps]);
  }

  async markDone(protocol, step) {
    const key = `${protocol.id}/${step.id}`;
    // The button stays focusable while the request runs (aria-disabled); a second press does nothing.
    if (this.pending.has(key)) return;
    this.pending.add(key);
    this.errors.delete(key);
    this.onChange();
    try {
      const callId = typeof this.callId === 'function' ? this.callId() : this.callId;
      await markStepDone(callId, protocol.id, step.id);
      this.onDone(protocol, step);
    } catch (err) {
      this.errors.set(key, `Could not mark this step done: ${err.message || err}`);
    } finally {
      this.pending.delete(key);
      this.onChange();
    }
  }

  /** One protocol: heading, severity, version, state, and its checklist. */
  card(protocol) {
    const headingId = `protocol-${safeId(protocol.id)}`;
    const active = protocol.status === 'active';
    const title = protocol.title || humanize(protocol.id);
    const meta = [protocol.version ? `version ${protocol.version}` : null,
      protocol.activated_at ? `started ${formatClock(protocol.activated_at)}` : null,
      progressText(protocol)].filter(Boolean).join(' · ');
    const state = active
      ? el('span', { class: 'badge protocol-state state-active', text: 'Active' })
      : el('span', { class: 'badge protocol-state state-exited', text: 'Exited' });
    const steps = [...protocol.steps.values()];
    const followUp = protocol.follow_up;
    return el('li', { class: `protocol-card sev-${protocol.severity || 'none'} status-${protocol.status}` },
      el('article', { 'aria-labelledby': headingId },
        el('div', { class: 'protocol-head' },
          severityBadge(protocol.severity),
          el('h3', { id: headingId, text: title }),
          state),
        el('p', { class: 'protocol-meta', text: meta }),
        protocol.reason ? el('p', { class: 'protocol-reason', text: `Why: ${protocol.reason}` }) : null,
        !active && protocol.exit_reason
          ? el('p', { class: 'protocol-reason', text: `Exited: ${protocol.exit_reason}` })
          : null,
        steps.length
          ? el('ol', { class: 'checklist', 'aria-label': `Checklist: ${title}` },
            steps.map((step) => this.stepItem(protocol, step, active)))
          : null,
        followUp ? el('p', { class: 'protocol-followup', text: followUpText(followUp) }) : null,
      ));
  }

  stepItem(protocol, step, active) {
    const key = `${protocol.id}/${step.id}`;
    const promptId = `step-${safeId(protocol.id)}-${safeId(step.id)}`;
    const pending = this.pending.has(key);
    const error = this.errors.get(key);
    const due = step.status === 'due';
    const actionable = due && active && this.canAct && this.isLive();
    const focusName = `step-${step.id}`;
    const status = el('span', {
      class: `step-status step-${step.status}`,
      // After "Mark done" the button is replaced by this text; the keyboard focus moves here.
      dataset: actionable ? {} : { focus: focusName },
      tabindex: actionable ? null : '-1',
    },
    el('span', { class: 'step-mark', 'aria-hidden': 'true', text: STEP_MARKS[step.status] || STEP_MARKS.due }),
    ` ${stepStatusText(step, active)}`);
    // When it was done, beside who did it (the status says who).
    const when = step.at && step.status !== 'due'
      ? el('time', { class: 'step-when', datetime: step.at, text: `at ${formatClock(step.at)}` })
      : null;
    // Suggested words help while a step is due; once done they only take room.
    const script = step.status === 'due' && step.script && step.script.length
      ? el('details', { class: 'step-script', open: this.scriptsOpen },
        el('summary', { text: 'Suggested words' }),
        el('ul', {}, step.script.map((line) => el('li', { text: line }))))
      : null;
    const button = actionable
      ? el('button', {
        type: 'button',
        class: 'btn btn-small',
        dataset: { focus: focusName },
        'aria-describedby': promptId,
        'aria-disabled': pending ? 'true' : null,
        text: pending ? 'Saving…' : 'Mark done',
        onClick: () => this.markDone(protocol, step),
      })
      : null;
    return el('li', { class: `step step-${step.status}`, dataset: { step: step.id } },
      el('div', { class: 'step-head' },
        status,
        when,
        el('span', { class: step.required ? 'step-req' : 'step-req step-optional',
          text: step.required ? 'Required' : 'Optional' })),
      el('p', { class: 'step-prompt', id: promptId, text: step.prompt || humanize(step.id) }),
      script,
      button ? el('div', { class: 'step-actions' }, button) : null,
      error ? el('p', { class: 'notice notice-error', role: 'alert', text: error }) : null,
    );
  }
}

function followUpText({ kind, due_by: dueBy }) {
  const t = Date.parse(dueBy || '');
  const when = Number.isNaN(t)
    ? ''
    : `, due by ${new Date(t).toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' })}`;
  return `Follow-up: ${humanize(kind)}${when}`;
}
