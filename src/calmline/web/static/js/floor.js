// The wall's "floor" section: calls waiting (depth and longest wait by risk), and the agents with their state
// and wellbeing (exposure against budget, cool-down, debriefs due), from GET /api/routing/floor. While
// routing is not configured (the endpoint answers 404) the section says so and checks again later.

import { formatDuration, el, humanize, parseTime } from './ui.js';

export const RISK_ORDER = ['imminent', 'high', 'moderate', 'low', 'none'];

const STATUS_TEXT = {
  available: 'Available',
  busy: 'On a call',
  wrap_up: 'Wrap-up',
  break: 'On a break',
  offline: 'Offline',
  cooldown: 'Cool-down',
};

/** Waiting calls grouped by risk, most urgent first: [{risk, count, longest_s}] (pure). */
export function waitingByRisk(waiting) {
  const groups = new Map();
  for (const w of waiting || []) {
    const risk = RISK_ORDER.includes(w.risk) ? w.risk : 'none';
    const g = groups.get(risk) || { risk, count: 0, longest_s: 0 };
    g.count += 1;
    g.longest_s = Math.max(g.longest_s, Number(w.waited_s) || 0);
    groups.set(risk, g);
  }
  return RISK_ORDER.filter((r) => groups.has(r)).map((r) => groups.get(r));
}

/**
 * An agent's wellbeing in words: exposure against budget (and its share), cool-down end, a break asked for,
 * consecutive high-risk calls, debriefs due. Returns {share, level, notes: [string]} (pure).
 */
export function wellbeing(agent, nowMs = Date.now()) {
  const exposure = Number(agent.exposure_minutes) || 0;
  const budget = Number(agent.budget_minutes) || 0;
  const share = budget > 0 ? exposure / budget : 0;
  const level = share >= 1 ? 'high' : share >= 0.75 ? 'elevated' : 'low';
  const notes = [];
  const until = parseTime(agent.cooldown_until);
  if (until !== null && until > nowMs) notes.push(`cool-down, ${formatDuration((until - nowMs) / 1000)} left`);
  if (agent.need_break) notes.push('asked for a break');
  if (agent.consecutive_high) notes.push(`${agent.consecutive_high} high-risk call${agent.consecutive_high === 1 ? '' : 's'} in a row`);
  if (agent.debriefs_due) notes.push(`${agent.debriefs_due} debrief${agent.debriefs_due === 1 ? '' : 's'} due`);
  if (share >= 1) notes.push('over exposure budget');
  return { share, level, notes };
}

/** Agents who need attention first: over budget, break asked, debrief due, then by name. */
export function byWellbeing(a, b) {
  const score = (x) => (wellbeing(x).share >= 1 ? 4 : 0) + (x.need_break ? 2 : 0) + (x.debriefs_due ? 1 : 0);
  return score(b) - score(a) || String(a.name || a.agent_id).localeCompare(String(b.name || b.agent_id));
}

export class FloorPanel {
  constructor(root) {
    this.root = root;
  }

  /** Show "routing not configured" (the endpoint is not there yet). */
  unconfigured() {
    this.root.dataset.state = 'unconfigured';
    this.root.querySelector('#floor-body').replaceChildren(
      el('p', { class: 'empty', text: 'Routing not configured: queues and agents appear here once it is.' }));
  }

  failed(message) {
    this.root.dataset.state = 'error';
    this.root.querySelector('#floor-body').replaceChildren(
      el('p', { class: 'notice notice-error', text: `Could not load the floor: ${message}` }));
  }

  render(floor, nowMs = Date.now()) {
    this.root.dataset.state = 'ready';
    const groups = waitingByRisk(floor.waiting);
    const total = (floor.waiting || []).length;
    const queue = el('section', { class: 'floor-queue', 'aria-labelledby': 'floor-queue-title' },
      el('h3', { id: 'floor-queue-title' }, 'Waiting ', el('span', { class: 'count', text: String(total) })),
      groups.length
        ? el('ul', { class: 'waiting-list' }, groups.map((g) => el('li', { class: `waiting risk-${g.risk}` },
          el('span', { class: `badge tier tier-${g.risk}`, text: g.risk === 'none' ? 'NO RISK' : g.risk.toUpperCase() }),
          ` ${g.count} waiting, longest ${formatDuration(g.longest_s)}`)))
        : el('p', { class: 'empty', text: 'No calls waiting.' }));

    const agents = [...(floor.agents || [])].sort(byWellbeing);
    const rows = agents.map((a) => {
      const w = wellbeing(a, nowMs);
      const fill = el('span', { class: `bar-fill level-${w.level}` });
      fill.style.width = `${Math.min(100, Math.round(w.share * 100))}%`;
      const status = STATUS_TEXT[a.status] || humanize(a.status);
      return el('tr', { class: `agent-row status-${a.status}`, dataset: { agent: a.agent_id } },
        el('th', { scope: 'row' }, a.name || a.agent_id,
          a.crisis_trained ? [' ', el('span', { class: 'badge tag', text: 'crisis-trained' })] : null),
        el('td', {}, el('span', { class: `agent-status status-${a.status}`, text: status }),
          a.current_call_id ? el('span', { class: 'mono small', text: ` · ${a.current_call_id}` }) : null),
        el('td', {},
          el('span', { class: 'exposure', text: `${Math.round(a.exposure_minutes || 0)} / ${Math.round(a.budget_minutes || 0)} min` }),
          el('span', { class: 'bar bar-mini', 'aria-hidden': 'true' }, fill)),
        el('td', { class: 'wellbeing', text: w.notes.length ? w.notes.join('; ') : 'ok' }));
    });
    const table = el('section', { class: 'floor-agents', 'aria-labelledby': 'floor-agents-title' },
      el('h3', { id: 'floor-agents-title' }, 'Agents ', el('span', { class: 'count', text: String(agents.length) })),
      agents.length
        ? el('div', { class: 'table-wrap' }, el('table', { class: 'findings agents-table' },
          el('thead', {}, el('tr', {}, ['Agent', 'State', 'Exposure (of budget)', 'Wellbeing']
            .map((h) => el('th', { scope: 'col', text: h })))),
          el('tbody', {}, rows)))
        : el('p', { class: 'empty', text: 'No agents signed in.' }));
    const debriefs = (floor.debriefs || []).filter((d) => d.status !== 'done');
    const debriefList = debriefs.length
      ? el('p', { class: 'debriefs' }, `${debriefs.length} debrief${debriefs.length === 1 ? '' : 's'} outstanding`)
      : null;
    this.root.querySelector('#floor-body').replaceChildren(queue, table, debriefList || '');
  }
}
