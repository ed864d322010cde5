// The JSON API and the session, over same-origin fetch. The session cookie (HttpOnly) authenticates every
// request; no token is ever kept in JavaScript-readable storage.

const baseMeta = document.querySelector('meta[name="calmline-base"]');
/** Path prefix when calmline is served below a reverse-proxy path ("" otherwise). */
export const BASE = baseMeta ? baseMeta.content.replace(/\/$/, '') : '';

export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.body = body;
  }
}

/** Only same-site paths are accepted as a return address (no "//host" or "scheme:" open redirects). */
export function safeNext(raw, fallback = `${BASE}/wall`) {
  if (!raw || !raw.startsWith('/') || raw.startsWith('//') || raw.startsWith('/\\')) return fallback;
  if (raw.startsWith(`${BASE}/login`)) return fallback;
  return raw;
}

/** Send the browser to the sign-in page, coming back here afterwards. */
export function toLogin() {
  const here = location.pathname + location.search;
  location.assign(`${BASE}/login?next=${encodeURIComponent(here)}`);
}

function describe(body, status) {
  if (body && typeof body.detail === 'string') return body.detail;
  if (body && Array.isArray(body.detail)) {
    return body.detail.map((d) => d.msg || String(d)).join('; ');
  }
  return `Request failed (${status})`;
}

/**
 * Call the API. Resolves to the parsed JSON (or null for an empty body).
 * A 401 sends the user to the sign-in page unless `redirectOn401` is false.
 */
export async function api(path, { method = 'GET', body, redirectOn401 = true, signal } = {}) {
  const init = {
    method,
    credentials: 'same-origin',
    headers: { Accept: 'application/json' },
    cache: 'no-store',
    signal,
  };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const response = await fetch(`${BASE}${path}`, init);
  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (response.status === 401 && redirectOn401) {
    toLogin();
    throw new ApiError(401, 'Signed out', data);
  }
  if (!response.ok) throw new ApiError(response.status, describe(data, response.status), data);
  return data;
}

/** Some list endpoints may wrap their rows (`{items: [...]}`); accept both shapes. */
export function rows(data, key) {
  if (Array.isArray(data)) return data;
  if (data && Array.isArray(data[key])) return data[key];
  if (data && Array.isArray(data.items)) return data.items;
  return [];
}

export const me = () => api('/api/auth/me');
export const logout = () => api('/api/auth/logout', { method: 'POST', redirectOn401: false });
export const listCalls = (status = 'active', limit = 200) => {
  const filter = status ? `status=${encodeURIComponent(status)}&` : '';
  return api(`/api/calls?${filter}limit=${limit}`).then((d) => rows(d, 'calls'));
};
export const listOpenAlerts = () => api('/api/alerts?status=open').then((d) => rows(d, 'alerts'));
export const getCall = (id) => api(`/api/calls/${encodeURIComponent(id)}`);
export const getTimeline = (id) =>
  api(`/api/calls/${encodeURIComponent(id)}/timeline`).then((d) => rows(d, 'events'));
export const callAction = (callId, action) =>
  api(`/api/calls/${encodeURIComponent(callId)}/actions`, { method: 'POST', body: action });
/** Check one protocol's checklist step off by hand (a `protocol_action` with the protocol and step ids). */
export const markStepDone = (callId, protocolId, stepId) =>
  callAction(callId, { action: 'protocol_action', protocol_id: protocolId, step_id: stepId });

/** The user's name as the API reports it (`/api/auth/me` says `name`; login says `username`). */
export const userName = (user) => (user && (user.name || user.username)) || '';

/** Roles that may open the live feed (`/ws/live`). */
export function canWatchLive(user) {
  const roles = (user && user.roles) || [];
  return ['supervisor', 'qa', 'admin', 'agent'].some((r) => roles.includes(r));
}

/**
 * A log id to start the live feed after, read BEFORE the snapshot it goes with: every row up to it is in the
 * snapshot fetched afterwards, every later row comes over the feed. Any lower bound is correct; a lower one
 * only means a longer catch-up.
 */
export async function resumePoint() {
  try {
    const data = await api('/api/live/position');
    if (data && typeof data.last_id === 'number') return data.last_id;
  } catch (err) {
    if (!(err instanceof ApiError) || (err.status !== 404 && err.status !== 405)) throw err;
  }
  // No position endpoint: the newest row of the most recently active call is a safe lower bound.
  const calls = await listCalls(null, 1000);
  let newest = null;
  for (const call of calls) {
    const at = Date.parse(call.last_event_at || call.started_at || '') || 0;
    if (!newest || at > newest.at) newest = { id: call.call_id, at };
  }
  if (!newest) return 0;
  const timeline = await getTimeline(newest.id);
  return timeline.reduce((max, row) => (typeof row.id === 'number' && row.id > max ? row.id : max), 0);
}

/** Roles allowed to act on alerts from the browser (the API enforces its own rule). */
export function canActOnAlerts(user) {
  const roles = (user && user.roles) || [];
  return roles.includes('supervisor') || roles.includes('admin');
}

/** Roles that may check protocol steps off by hand (the API enforces its own rule). */
export function canActOnProtocols(user) {
  const roles = (user && user.roles) || [];
  return ['agent', 'supervisor', 'admin'].some((r) => roles.includes(r));
}

/** Whether the user holds any of `roles`. */
export function hasRole(user, ...roles) {
  const held = (user && user.roles) || [];
  return roles.some((r) => held.includes(r));
}

/** The page a user lands on: supervisors and admins the wall, agents their panel, QA and auditors history. */
export function homeFor(user) {
  if (hasRole(user, 'supervisor', 'admin')) return `${BASE}/wall`;
  if (hasRole(user, 'agent')) return `${BASE}/agent`;
  if (hasRole(user, 'qa', 'auditor')) return `${BASE}/history`;
  return `${BASE}/wall`;
}

/** The wall's snapshot: active calls with trajectory, tiers, protocol progress (`GET /api/live/board`). */
export const getBoard = () => api('/api/live/board');
/** The routing floor (`GET /api/routing/floor`); null while routing is not configured (404). */
export async function getFloor() {
  try {
    return await api('/api/routing/floor');
  } catch (err) {
    if (err instanceof ApiError && (err.status === 404 || err.status === 405 || err.status === 501)) return null;
    throw err;
  }
}
/** Ask for (or cancel) a break: `POST /api/routing/agents/{id}/break`. */
export const setNeedBreak = (agentId, needBreak) =>
  api(`/api/routing/agents/${encodeURIComponent(agentId)}/break`, { method: 'POST', body: { need_break: needBreak } });
/** Past calls matching the filters (`GET /api/history/calls`); `params` is a plain object of non-empty strings. */
export const searchHistory = (params) => {
  const query = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== '' && v != null));
  return api(`/api/history/calls?${query}`).then((d) => rows(d, 'calls'));
};
export const getReplay = (id) => api(`/api/calls/${encodeURIComponent(id)}/replay`);
/** The call's timeline, with identifiers masked (rather than the whole text replaced) for roles without text. */
export const getMaskedTimeline = (id) =>
  api(`/api/calls/${encodeURIComponent(id)}/timeline?redaction=masked`).then((d) => rows(d, 'events'));
