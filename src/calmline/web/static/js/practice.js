// Practice calls: pick a scenario, answer the simulated caller, read the debrief. Trainers see the cohort and
// comment on a debrief. Support links are plain links: nothing records who opens them.

import { api, ApiError } from './api.js';
import { el, humanize, initSession, showError } from './ui.js';

const $ = (id) => document.getElementById(id);
let user = null;
let scenarios = [];
let current = null; // {call_id, mode}

function fill(list, items, render) {
  list.replaceChildren(...items.map(render));
}

function say(speaker, text) {
  $('transcript').append(el('li', { class: `turn turn-${speaker}` },
    el('strong', { text: speaker === 'agent' ? 'You: ' : 'Caller: ' }), el('span', { text })));
}

function brief() {
  const s = scenarios.find((x) => x.id === $('scenario-select').value);
  if (!s) return;
  fill($('scenario-brief'), [
    el('p', { text: s.summary }),
    el('p', { text: `${s.persona.name}: ${s.persona.situation}` }),
    el('ul', {}, ...s.objectives.map((o) => el('li', { text: o.text }))),
  ], (x) => x);
}

function showAssists(reply) {
  const a = reply.assists;
  $('assists').hidden = !a;
  if (!a) return;
  fill($('assist-guardrails'), a.guardrails, (g) => el('li', {},
    el('span', { text: `${humanize(g.level)} (${g.severity})` }), el('br'), el('em', { text: `Instead: ${g.alternative || ''}` })));
  fill($('assist-suggestions'), a.suggestions, (s) => el('li', { text: s.text }));
  fill($('assist-checklist'), reply.checklist || [], (p) => el('li', {},
    el('strong', { text: p.title || p.id }),
    el('ul', {}, ...p.steps.map((s) => el('li', { class: `step-${s.status}`, text: `${s.status === 'done' ? '✓' : '○'} ${s.prompt || s.id}` })))));
}

function debrief(card) {
  $('call-session').hidden = true;
  $('debrief').hidden = false;
  $('debrief-score').textContent = String(card.score);
  $('debrief-outcome').textContent = `${card.scenario.title} · ${card.agent_turns} answers · ${card.mode}`;
  fill($('debrief-moments'), card.key_moments, (m) => el('li', { text: `Turn ${m.turn}: ${m.why}` }));
  fill($('debrief-objectives'), card.objectives, (o) => el('li', { class: o.met ? 'met' : 'unmet',
    text: `${o.met ? '✓' : o.met === false ? '✗' : '–'} ${o.text} ${o.evidence.length ? `(${o.evidence.join('; ')})` : ''}` }));
  const s = card.asked_about_suicide;
  $('debrief-suicide').textContent = s.asked
    ? `Asked directly at turn ${s.turn} (${s.at_s} s into the call)${s.turns_after_cue != null ? `, ${s.turns_after_cue} turn(s) after the first cue` : ''}.`
    : 'Not asked directly.';
  fill($('debrief-protocols'), card.protocols, (p) => el('li', {}, el('strong', { text: p.title || p.id }),
    el('ul', {}, ...p.steps.map((st) => el('li', {
      text: `${st.status === 'done' ? '✓' : '○'} ${st.prompt || st.id}${st.turn != null ? ` — turn ${st.turn}, ${st.at_s} s` : ''}` })))));
  fill($('debrief-guardrails'), card.guardrails, (g) => el('li', {},
    el('span', { text: `Turn ${g.turn}: ${humanize(g.level)} — “${g.said || ''}”` }), el('br'),
    el('em', { text: `Instead: ${g.alternative || ''}` })));
  fill($('debrief-missed'), card.missed_openings, (m) => el('li', {
    text: `Turn ${m.turn}: the caller showed ${m.cue}; your answer did not acknowledge it.` }));
  fill($('debrief-empathy'), card.empathy.per_turn, (t) => el('li', {
    text: `Turn ${t.turn}: reaction ${t.emotional_reaction}, interpretation ${t.interpretation}, exploration ${t.exploration}${t.validation ? ', validation' : ''}${t.acknowledged ? '' : ' — nothing acknowledged'}` }));
  fill($('debrief-deductions'), card.deductions, (d) => el('li', {
    text: `−${d.points} ${humanize(d.kind)}${d.turn != null ? ` (turn ${d.turn})` : ''}: ${humanize(d.detail)}` }));
  showComments(card.comments);
  $('debrief').dataset.callId = card.call_id;
  $('debrief-title').focus?.();
  loadProgress();
}

function showComments(comments) {
  fill($('debrief-comments'), comments, (c) => el('li', { text: `${c.by}: ${c.text}` }));
}

async function start(event) {
  event.preventDefault();
  const mode = document.querySelector('input[name="mode"]:checked').value;
  try {
    const session = await api('/api/practice/sessions', { method: 'POST', body: { scenario_id: $('scenario-select').value, mode } });
    current = session;
    $('pick').hidden = true;
    $('debrief').hidden = true;
    $('call-session').hidden = false;
    $('assists').hidden = true;
    $('transcript').replaceChildren();
    $('greeting').textContent = `You answer: “${session.scenario.agent_greeting}”`;
    say('caller', session.caller.text);
    $('answer').focus();
  } catch (err) {
    showError($('practice-error'), `Could not start: ${err.message || err}`);
  }
}

async function send(event) {
  event.preventDefault();
  const text = $('answer').value.trim();
  if (!text || !current) return;
  $('send-button').disabled = true;
  try {
    const reply = await api(`/api/practice/sessions/${encodeURIComponent(current.call_id)}/responses`, { method: 'POST', body: { text } });
    say('agent', text);
    say('caller', reply.caller.text);
    $('answer').value = '';
    showAssists(reply);
    if (reply.ended) await finish();
  } catch (err) {
    showError($('practice-error'), `Could not send: ${err.message || err}`);
  } finally {
    $('send-button').disabled = false;
  }
}

async function finish() {
  if (!current) return;
  const card = await api(`/api/practice/sessions/${encodeURIComponent(current.call_id)}/end`, { method: 'POST' });
  current = null;
  debrief(card);
}

async function openDebrief(callId) {
  const card = await api(`/api/practice/sessions/${encodeURIComponent(callId)}/scorecard`);
  $('pick').hidden = true;
  debrief(card);
}

async function comment(event) {
  event.preventDefault();
  const callId = $('debrief').dataset.callId;
  const text = $('comment').value.trim();
  if (!callId || !text) return;
  const result = await api(`/api/practice/sessions/${encodeURIComponent(callId)}/comments`, { method: 'POST', body: { text } });
  $('comment').value = '';
  showComments(result.comments);
}

async function loadProgress() {
  const data = await api('/api/practice/progress');
  $('progress-empty').hidden = data.sessions.length > 0;
  fill($('progress'), data.sessions, (s) => el('li', {},
    el('button', { type: 'button', class: 'btn btn-quiet', text: `${s.scenario_title}: ${s.score} (${s.mode})`, onclick: () => openDebrief(s.call_id) })));
}

async function loadCohort() {
  const data = await api('/api/practice/cohort');
  fill($('cohort'), data.rows, (r) => el('tr', {},
    el('td', { text: r.agent_id }), el('td', { text: r.scenario_title }), el('td', { text: String(r.score) }),
    el('td', { text: String(r.attempts) }),
    el('td', {}, el('button', { type: 'button', class: 'btn btn-quiet', text: 'Open', onclick: () => openDebrief(r.call_id) }))));
}

async function loadSupport() {
  const data = await api('/api/practice/support');
  $('support-intro').textContent = data.intro || '';
  fill($('support-links'), data.links, (l) => el('li', {},
    l.url ? el('a', { href: l.url, target: '_blank', rel: 'noopener noreferrer', text: l.title }) : el('strong', { text: l.title }),
    el('span', { text: ` ${l.description || ''}${l.phone ? ` · ${l.phone}` : ''}` })));
}

async function main() {
  if (!$('practice-page')) {
    // Loaded by another page (the agent panel) for its support block only.
    if ($('support-links')) await loadSupport().catch(() => {});
    return;
  }
  try {
    user = await initSession();
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return;
    throw err;
  }
  $('start-form').addEventListener('submit', start);
  $('answer-form').addEventListener('submit', send);
  $('end-button').addEventListener('click', () => finish().catch((err) => showError($('practice-error'), String(err.message || err))));
  $('comment-form').addEventListener('submit', comment);
  $('again-button').addEventListener('click', () => { $('debrief').hidden = true; $('pick').hidden = false; });
  $('scenario-select').addEventListener('change', brief);
  try {
    scenarios = (await api('/api/practice/scenarios')).scenarios;
    fill($('scenario-select'), scenarios, (s) => el('option', { value: s.id, text: `${s.title} (${s.difficulty})` }));
    brief();
    await Promise.all([loadProgress(), loadSupport()]);
    if ((user.roles || []).some((r) => ['supervisor', 'qa', 'admin'].includes(r))) await loadCohort();
  } catch (err) {
    showError($('practice-error'), `Could not load practice: ${err.message || err}`);
  }
}

main();
