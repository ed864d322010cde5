// How the wall ranks calls and what counts as "needs a supervisor now": pure functions over the wall's
// state, unit-tested under node.

import { severityRank, tierRank } from './ui.js';

/** The highest tier among a call's risk tiers (a Map of risk type -> tier), or null. */
export function topTier(tiers) {
  let best = null;
  for (const tier of tiers.values()) if (best === null || tierRank(tier) > tierRank(best)) best = tier;
  return best;
}

/**
 * Most urgent first: imminent risk with an open alert, then open alert severity, then an agent asking for
 * help, then the highest risk tier, then distress, then the number of open alerts, then the oldest call.
 * `a` and `b` are tile views: {call, open: [alerts], severity, tier, imminent, help}.
 */
export function byNeed(a, b) {
  return (
    Number(b.imminent) - Number(a.imminent)
    || severityRank(b.severity) - severityRank(a.severity)
    || Number(b.help) - Number(a.help)
    || tierRank(b.tier) - tierRank(a.tier)
    || (b.call.distress ?? -1) - (a.call.distress ?? -1)
    || b.open.length - a.open.length
    || (Date.parse(a.call.started_at || '') || Infinity) - (Date.parse(b.call.started_at || '') || Infinity)
    || String(a.call.call_id).localeCompare(String(b.call.call_id))
  );
}

/** The protocol to show on a tile: the most severe active one, with required steps done and total. */
export function currentProtocol(protocols) {
  let best = null;
  let active = 0;
  for (const p of protocols.values()) {
    if (p.status !== 'active' || !p.title) continue;
    active += 1;
    if (best === null || severityRank(p.severity) > severityRank(best.severity)) best = p;
  }
  if (best === null) return null;
  const required = [...best.steps.values()].filter((s) => s.required);
  return {
    id: best.id, title: best.title, severity: best.severity, active,
    done: required.filter((s) => s.status === 'done').length, total: required.length,
  };
}

/** Open alerts nobody has acknowledged yet that are critical or carry imminent evidence: the banner's list. */
export function needsAckNow(alerts) {
  return alerts.filter((a) => (a.status === 'raised' || a.status === 'escalated')
    && (severityRank(a.severity) >= 3 || (a.evidence || []).some((f) => f.tier === 'imminent')));
}
