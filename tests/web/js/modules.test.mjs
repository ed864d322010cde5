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
