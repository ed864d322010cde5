// The live feed: one WebSocket to /ws/live, reconnecting with capped exponential backoff and jitter, and
// resuming after the last row id seen so nothing is missed or repeated across a reconnect.

import { BASE } from './api.js';

const MIN_DELAY_MS = 500;
const MAX_DELAY_MS = 30000;
// A connection must stay up this long before the backoff starts again from the minimum.
const STABLE_MS = 10000;

export class LiveFeed {
  /**
   * @param {object} opts
   * @param {(row: object) => void} opts.onRow  called once per log row, in id order
   * @param {(state: string, detail?: object) => void} [opts.onState]  connecting | open | waiting | closed
   * @param {number|null} [opts.after]  resume after this row id (null: the server's default)
   * @param {(code: number) => void} [opts.onAuthLost]  the server closed for authentication (4401/1008)
   */
  constructor({ onRow, onState = () => {}, after = null, onAuthLost = () => {} }) {
    this.onRow = onRow;
    this.onState = onState;
    this.onAuthLost = onAuthLost;
    this.lastId = after;
    this.attempt = 0;
    this.socket = null;
    this.timer = null;
    this.openedAt = 0;
    this.stopped = true;
    this.onOnline = () => this.reconnectNow();
  }

  url() {
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const query = this.lastId === null || this.lastId === undefined ? '' : `?after=${this.lastId}`;
    return `${scheme}//${location.host}${BASE}/ws/live${query}`;
  }

  start() {
    this.stopped = false;
    window.addEventListener('online', this.onOnline);
    this.connect();
  }

  stop() {
    this.stopped = true;
    window.removeEventListener('online', this.onOnline);
    clearTimeout(this.timer);
    if (this.socket) this.socket.close(1000, 'bye');
    this.socket = null;
    this.onState('closed');
  }

  reconnectNow() {
    if (this.stopped || (this.socket && this.socket.readyState <= WebSocket.OPEN)) return;
    clearTimeout(this.timer);
    this.attempt = 0;
    this.connect();
  }

  connect() {
    this.onState('connecting');
    let socket;
    try {
      socket = new WebSocket(this.url());
    } catch {
      this.schedule();
      return;
    }
    this.socket = socket;
    socket.addEventListener('open', () => {
      this.openedAt = Date.now();
      this.onState('open');
    });
    socket.addEventListener('message', (event) => this.receive(event.data));
    socket.addEventListener('close', (event) => {
      if (this.socket !== socket) return;
      this.socket = null;
      if (this.stopped) return;
      if (event.code === 4401 || event.code === 4403 || event.code === 1008) {
        this.stopped = true;
        this.onState('closed', { code: event.code });
        this.onAuthLost(event.code);
        return;
      }
      if (this.openedAt && Date.now() - this.openedAt >= STABLE_MS) this.attempt = 0;
      this.openedAt = 0;
      this.schedule();
    });
  }

  receive(data) {
    let message;
    try {
      message = JSON.parse(data);
    } catch {
      return;
    }
    const batch = Array.isArray(message) ? message : [message];
    for (const row of batch) {
      if (!row || typeof row !== 'object') continue;
      if (typeof row.id === 'number') {
        // Rows at or below the resume point were already applied (a replayed backlog after a reconnect).
        if (this.lastId !== null && this.lastId !== undefined && row.id <= this.lastId) continue;
        this.lastId = row.id;
      }
      try {
        this.onRow(row);
      } catch (err) {
        console.error('calmline: could not apply live row', row && row.id, err);
      }
    }
  }

  schedule() {
    const ceiling = Math.min(MAX_DELAY_MS, MIN_DELAY_MS * 2 ** this.attempt);
    const delay = Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
    this.attempt += 1;
    this.onState('waiting', { delay, attempt: this.attempt });
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), delay);
  }
}
