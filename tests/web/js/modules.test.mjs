// Unit tests for the browser modules that do not need a page, run with `node --test` (see test_web_js.py).
import assert from 'node:assert/strict';
import { test } from 'node:test';

const STATIC = new URL('../../../src/calmline/web/static/js/', import.meta.url);

// The smallest browser the modules need: no DOM, a location, and a WebSocket we drive by hand.
class FakeSocket {
  static instances = [];
  static OPEN = 1;
  constructor(url) {
    this.url = url;
    this.readyState = 0;
    this.listeners = {};
    FakeSocket.instances.push(this);
  }
  addEventListener(type, fn) {
    (this.listeners[type] ||= []).push(fn);
  }
  emit(type, event = {}) {
    if (type === 'open') this.readyState = 1;
    if (type === 'close') this.readyState = 3;
    for (const fn of this.listeners[type] || []) fn(event);
  }
  close() {
    this.readyState = 3;
  }
}
globalThis.document = { querySelector: () => null };
globalThis.location = { protocol: 'https:', host: 'calmline.local:8443', pathname: '/wall', search: '' };
globalThis.window = { addEventListener() {}, removeEventListener() {} };
globalThis.WebSocket = FakeSocket;

const { segments } = await import(new URL('highlight.js', STATIC));
const { safeNext, rows } = await import(new URL('api.js', STATIC));
const { LiveFeed } = await import(new URL('live.js', STATIC));

const finding = (type, ...evidence) => ({ finding: { type, evidence } });

test('segments split at every span boundary and list the covering findings', () => {
  const a = finding('suicide_risk', [4, 12]);
  const b = finding('self_harm', [8, 16]);
  const out = segments('I am going to end it all', [a, b]);
  assert.deepEqual(out.map((s) => s.text), ['I am', ' goi', 'ng t', 'o en', 'd it all']);
  assert.deepEqual(out.map((s) => s.findings.map((f) => f.type)), [
    [], ['suicide_risk'], ['suicide_risk', 'self_harm'], ['self_harm'], [],
  ]);
});

test('segments clamp out-of-range spans and ignore empty or reversed ones', () => {
  const out = segments('short', [finding('x', [3, 99], [4, 4], [5, 2], [-3, 1])]);
  assert.equal(out.map((s) => s.text).join(''), 'short');
  assert.deepEqual(out.filter((s) => s.findings.length).map((s) => s.text), ['s', 'rt']);
});

test('segments count code points like Python, so emoji do not shift later spans', () => {
  const text = '😢 I want to die';
  const out = segments(text, [finding('suicide_risk', [4, 15])]); // Python: text[4:15]
  assert.deepEqual(out.filter((s) => s.findings.length).map((s) => s.text), ['want to die']);
  assert.equal(out.map((s) => s.text).join(''), text);
});

test('segments of text without findings is the text', () => {
  assert.deepEqual(segments('hello', []), [{ text: 'hello', findings: [] }]);
  assert.deepEqual(segments('', [finding('x', [0, 3])]), []);
});

test('safeNext only returns same-site paths', () => {
  assert.equal(safeNext('/calls/c-1?x=1'), '/calls/c-1?x=1');
  for (const bad of [null, '', 'https:evil', '//evil.example', '/\\evil.example', 'javascript:alert(1)', '/login']) {
    assert.equal(safeNext(bad), '/wall', String(bad));
  }
});

test('rows accepts bare lists and wrapped lists', () => {
  assert.deepEqual(rows([1], 'events'), [1]);
  assert.deepEqual(rows({ events: [2] }, 'events'), [2]);
  assert.deepEqual(rows({ items: [3] }, 'events'), [3]);
  assert.deepEqual(rows(null, 'events'), []);
});

function collect(after) {
  FakeSocket.instances = [];
  const seen = [];
  const states = [];
  const lost = [];
  const feed = new LiveFeed({
    after,
    onRow: (row) => seen.push(row.id ?? row.type),
    onState: (state, detail) => states.push([state, detail]),
    onAuthLost: (code) => lost.push(code),
  });
  return { feed, seen, states, lost };
}

test('the live feed resumes after the last id and drops rows it already applied', () => {
  const { feed, seen } = collect(5);
  feed.start();
  const socket = FakeSocket.instances[0];
  assert.equal(socket.url, 'wss://calmline.local:8443/ws/live?after=5');
  socket.emit('open');
  socket.emit('message', { data: JSON.stringify({ id: 5, type: 'utterance' }) });
  socket.emit('message', { data: JSON.stringify({ id: 6, type: 'utterance' }) });
  socket.emit('message', { data: JSON.stringify([{ id: 6 }, { id: 7 }, { type: 'hello' }]) });
  socket.emit('message', { data: 'not json' });
  assert.deepEqual(seen, [6, 7, 'hello']);
  assert.equal(feed.lastId, 7);
  feed.stop();
});

test('the live feed reconnects with capped, jittered exponential backoff and resumes', () => {
  const { feed, states } = collect(0);
  feed.start();
  FakeSocket.instances[0].emit('message', { data: JSON.stringify({ id: 41 }) });
  // Drive failures by hand instead of waiting for timers.
  const delays = [];
  for (let i = 0; i < 12; i += 1) {
    const socket = FakeSocket.instances.at(-1);
    socket.emit('close', { code: 1006 });
    const [state, detail] = states.at(-1);
    assert.equal(state, 'waiting');
    delays.push(detail.delay);
    clearTimeout(feed.timer);
    feed.connect();
  }
  delays.forEach((delay, i) => {
    const ceiling = Math.min(30000, 500 * 2 ** i);
    assert.ok(delay >= ceiling / 2 && delay <= ceiling, `attempt ${i}: ${delay} not in [${ceiling / 2}, ${ceiling}]`);
  });
  assert.equal(FakeSocket.instances.at(-1).url, 'wss://calmline.local:8443/ws/live?after=41');
  feed.stop();
});

test('the live feed stops and reports when the server refuses the credentials', () => {
  const { feed, states, lost } = collect(3);
  feed.start();
  FakeSocket.instances[0].emit('close', { code: 1008 });
  assert.deepEqual(lost, [1008]);
  assert.equal(states.at(-1)[0], 'closed');
  assert.equal(FakeSocket.instances.length, 1);
  assert.equal(feed.timer, null);
});

// ---- protocols and escalation countdowns -----------------------------------------------------------

const { applyProtocolRow, byUrgency, completedBy, progressText, stepStatusText } = await import(
  new URL('protocols.js', STATIC)
);
const { countdown } = await import(new URL('ui.js', STATIC));
const { awaitingAck, notifyLabel } = await import(new URL('alerts.js', STATIC));

const prow = (type, payload) => ({
  type, stream: 'c-1', payload: { call_id: 'c-1', at: '2026-11-25T10:00:00Z', ...payload },
});
const activated = prow('protocol.activated', {
  protocol_id: 'suicide_imminent', version: '1.1.0', title: 'Imminent suicide risk', severity: 'critical',
  reason: 'suicide_risk (plan, tier imminent) at utterance 1', alert_id: 'c-1-A1',
});
const due = (step_id, extra = {}) => prow('checklist.step', {
  protocol_id: 'suicide_imminent', step_id, status: 'due', by: null, prompt: `Do ${step_id}`,
  script: [`Say ${step_id}`], required: true, ...extra,
});
const done = (step_id, by) => prow('checklist.step', {
  protocol_id: 'suicide_imminent', step_id, status: 'done', by, prompt: null, script: [], required: true,
});

test('protocol rows fold into protocols with ordered checklists', () => {
  const protocols = new Map();
  const rows = [activated, due('ask_safe_now'), due('ask_location'), due('warm_transfer', { required: false })];
  for (const row of rows) assert.equal(applyProtocolRow(protocols, row), true);
  assert.equal(applyProtocolRow(protocols, prow('utterance', { seq: 1 })), false);
  const p = protocols.get('suicide_imminent');
  assert.equal(p.title, 'Imminent suicide risk');
  assert.equal(p.status, 'active');
  assert.equal(p.alert_id, 'c-1-A1');
  assert.deepEqual([...p.steps.keys()], ['ask_safe_now', 'ask_location', 'warm_transfer']);
  assert.equal(p.steps.get('warm_transfer').required, false);
  assert.equal(progressText(p), '0 of 2 required steps done, 1 optional');
});

test('a done row keeps the step prompt and script and records who did it; re-applied rows change nothing', () => {
  const protocols = new Map();
  const rows = [activated, due('ask_location'), done('ask_location', 'sue')];
  for (const row of [...rows, ...rows]) applyProtocolRow(protocols, row);
  const step = protocols.get('suicide_imminent').steps.get('ask_location');
  assert.deepEqual(
    { status: step.status, by: step.by, prompt: step.prompt, script: step.script, required: step.required },
    { status: 'done', by: 'sue', prompt: 'Do ask_location', script: ['Say ask_location'], required: true },
  );
  assert.equal(stepStatusText(step), 'Done by sue');
  assert.equal(progressText(protocols.get('suicide_imminent')), '1 of 1 required step done');
});

test('an exited protocol is marked and a re-applied activation does not reopen it', () => {
  const protocols = new Map();
  applyProtocolRow(protocols, activated);
  applyProtocolRow(protocols, due('ask_means'));
  const reason = 'exit on action clinician_cleared by sue';
  applyProtocolRow(protocols, prow('protocol.exited', { protocol_id: 'suicide_imminent', reason }));
  applyProtocolRow(protocols, activated);
  const p = protocols.get('suicide_imminent');
  assert.equal(p.status, 'exited');
  assert.equal(p.exit_reason, reason);
  assert.equal(stepStatusText(p.steps.get('ask_means'), false), 'Not done');
  const followUp = { kind: 'clinical_callback', due_by: '2026-11-26T10:00:00Z' };
  applyProtocolRow(protocols, prow('followup.scheduled', { protocol_id: 'suicide_imminent', ...followUp }));
  assert.deepEqual(p.follow_up, followUp);
});

test('step completion is described in words, whoever or whatever completed it', () => {
  assert.equal(completedBy('sue'), 'by sue');
  assert.equal(completedBy('intent:asked_location'), 'heard on the call (asked location)');
  assert.equal(completedBy('call.transferred'), 'on transfer');
  assert.equal(stepStatusText({ status: 'due' }), 'Due');
  assert.equal(stepStatusText({ status: 'done', by: null }), 'Done');
  const heard = { status: 'done', by: 'intent:asked_location' };
  assert.equal(stepStatusText(heard), 'Done: heard on the call (asked location)');
  assert.equal(stepStatusText({ status: 'done', by: 'call.transferred' }), 'Done on transfer');
  assert.equal(stepStatusText({ status: 'skipped', by: 'sue' }), 'Skipped (by sue)');
});

test('active protocols sort first, then by severity', () => {
  const list = [
    { id: 'a', status: 'exited', severity: 'critical', activated_at: '2026-11-25T10:00:00Z' },
    { id: 'b', status: 'active', severity: 'high', activated_at: '2026-11-25T10:00:00Z' },
    { id: 'c', status: 'active', severity: 'critical', activated_at: '2026-11-25T09:00:00Z' },
  ];
  assert.deepEqual(list.sort(byUrgency).map((p) => p.id), ['c', 'b', 'a']);
});

test('the acknowledgement countdown counts down, then says overdue', () => {
  const deadline = Date.parse('2026-11-25T10:01:00Z');
  assert.deepEqual(countdown(deadline, deadline - 42_000), { text: 'escalates in 0:42', overdue: false });
  assert.deepEqual(countdown(deadline, deadline - 41_200), { text: 'escalates in 0:42', overdue: false });
  assert.deepEqual(countdown(deadline, deadline - 125_000), { text: 'escalates in 2:05', overdue: false });
  assert.deepEqual(countdown(deadline, deadline), { text: 'overdue', overdue: true });
  assert.deepEqual(countdown(deadline, deadline + 5_400), { text: 'overdue by 0:05', overdue: true });
});

test('only an unacknowledged alert waits on its escalation chain, and who to notify reads as words', () => {
  assert.equal(awaitingAck({ status: 'raised' }), true);
  assert.equal(awaitingAck({ status: 'escalated' }), true);
  assert.equal(awaitingAck({ status: 'acknowledged' }), false);
  assert.equal(awaitingAck({ status: 'resolved' }), false);
  assert.equal(notifyLabel('emergency_services'), 'emergency services');
  assert.equal(notifyLabel('crisis_line'), 'crisis line');
  assert.equal(notifyLabel('clinician'), 'clinician');
});

// ---- issue 7: the wall's ranking, sparklines, the floor, guardrail warnings ------------------------------

const { byNeed, currentProtocol, needsAckNow, topTier } = await import(new URL('need.js', STATIC));
const { sparkPoints } = await import(new URL('spark.js', STATIC));
const { waitingByRisk, wellbeing, byWellbeing } = await import(new URL('floor.js', STATIC));
const { guardrailWarnings, actionLine } = await import(new URL('callpanels.js', STATIC));

const view = (id, { call = {}, ...rest } = {}) => ({
  call: { call_id: id, distress: 0.1, started_at: '2026-11-25T10:00:00Z', ...call },
  open: [], severity: null, tier: null, imminent: false, help: false, ...rest,
});

test('tiles sort imminent first, then alert severity, help requests, tier and distress', () => {
  const views = [
    view('calm'),
    view('distressed', { call: { distress: 0.9 } }),
    view('tiered', { tier: 'high' }),
    view('help', { help: true }),
    view('warning', { severity: 'warning', open: [{}] }),
    view('imminent', { imminent: true, tier: 'imminent', severity: 'high', open: [{}] }),
    view('critical', { severity: 'critical', open: [{}] }),
  ];
  assert.deepEqual(views.sort(byNeed).map((v) => v.call.call_id),
    ['imminent', 'critical', 'warning', 'help', 'tiered', 'distressed', 'calm']);
});

test('the top tier and the current protocol with its required steps done', () => {
  assert.equal(topTier(new Map([['self_harm', 'moderate'], ['suicide_risk', 'imminent']])), 'imminent');
  assert.equal(topTier(new Map()), null);
  const steps = new Map([['a', { required: true, status: 'done' }], ['b', { required: true, status: 'due' }],
    ['c', { required: false, status: 'due' }]]);
  const protocols = new Map([
    ['low', { id: 'low', title: 'Low', severity: 'warning', status: 'active', steps: new Map() }],
    ['top', { id: 'top', title: 'Top', severity: 'critical', status: 'active', steps }],
    ['gone', { id: 'gone', title: 'Gone', severity: 'critical', status: 'exited', steps: new Map() }],
  ]);
  assert.deepEqual(currentProtocol(protocols),
    { id: 'top', title: 'Top', severity: 'critical', active: 2, done: 1, total: 2 });
  assert.equal(currentProtocol(new Map()), null);
});

test('the banner lists unacknowledged critical or imminent alerts only', () => {
  const list = [
    { alert_id: 'a', status: 'raised', severity: 'critical' },
    { alert_id: 'b', status: 'acknowledged', severity: 'critical' },
    { alert_id: 'c', status: 'escalated', severity: 'high', evidence: [{ tier: 'imminent' }] },
    { alert_id: 'd', status: 'raised', severity: 'high', evidence: [{ tier: 'high' }] },
  ];
  assert.deepEqual(needsAckNow(list).map((a) => a.alert_id), ['a', 'c']);
});

test('sparkline points span the box, 1.0 at the top, one value as a flat line', () => {
  assert.equal(sparkPoints([], 100, 28), '');
  assert.equal(sparkPoints([0.5], 100, 28), '0,14.0 100,14.0');
  assert.equal(sparkPoints([0, 1], 100, 28), '0.0,26.0 100.0,2.0');
  assert.equal(sparkPoints([0, 0.5, 2], 100, 28).split(' ').length, 3);
});

test('the floor groups waiting calls by risk and words each agent\'s wellbeing', () => {
  const waiting = [{ risk: 'none', waited_s: 30 }, { risk: 'imminent', waited_s: 12 }, { risk: 'none', waited_s: 90 }];
  assert.deepEqual(waitingByRisk(waiting), [
    { risk: 'imminent', count: 1, longest_s: 12 }, { risk: 'none', count: 2, longest_s: 90 }]);
  const now = Date.parse('2026-11-25T10:00:00Z');
  const tired = { agent_id: 'a', exposure_minutes: 70, budget_minutes: 60, need_break: true, debriefs_due: 1,
    consecutive_high: 0, cooldown_until: '2026-11-25T10:05:00Z' };
  const fresh = { agent_id: 'b', exposure_minutes: 5, budget_minutes: 60 };
  const w = wellbeing(tired, now);
  assert.equal(w.level, 'high');
  assert.deepEqual(w.notes, ['cool-down, 5:00 left', 'asked for a break', '1 debrief due', 'over exposure budget']);
  assert.deepEqual(wellbeing(fresh, now).notes, []);
  assert.deepEqual([fresh, tired].sort(byWellbeing).map((a) => a.agent_id), ['a', 'b']);
});

test('guardrail warnings are the agent\'s own words, quoted by code point, most severe first', () => {
  const utterances = new Map([[4, { seq: 4, text: '😢 calm down, you will be fine' }]]);
  const findings = [
    { id: 1, finding: { type: 'guardrail', level: 'false_reassurance', category: 'warning', assertion: 'present',
      evidence: [[2, 11]], utterance_seq: 4, alternative: 'I can hear how worried you are.' } },
    { id: 2, finding: { type: 'guardrail', level: 'false_reassurance', assertion: 'negated', evidence: [] } },
    { id: 3, finding: { type: 'guardrail', level: 'medical_advice', category: 'high', assertion: 'present',
      evidence: [], utterance_seq: 5 } },
    { id: 4, finding: { type: 'suicide_risk', level: 'plan', assertion: 'present', evidence: [] } },
  ];
  const out = guardrailWarnings(findings, utterances);
  assert.deepEqual(out.map((w) => [w.id, w.severity]), [[3, 'high'], [1, 'warning']]);
  assert.equal(out[1].quote, 'calm down');
  assert.equal(out[1].alternative, 'I can hear how worried you are.');
  assert.match(actionLine({ action: 'barge', actor: 'sue', at: '2026-11-25T10:00:00Z' }), /sue barged in$/);
  assert.match(actionLine({ action: 'note', actor: 'ann', note: 'calmer', at: null }), /ann added a note: calmer$/);
});
