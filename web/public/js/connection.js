// connection.js — the audio WebSocket (docs/protocol.md v1), client side.
//   * URL relative to the page (ws: or wss: after the page's scheme), subprotocol loopcast.v1,
//     ?session=<GUID> once the server has given us one (kept in localStorage, cookie fallback).
//   * Binary messages: 24-byte header (kind, flags, header length, seq, pts, capture_ns), then
//     one Opus packet. Text: hello, time, session, source, error.
//   * ping every 2 s; the `time` replies give the server→performance.now() clock offset, taken
//     from the reply with the smallest round trip among the last 16 (min-RTT filter).
//   * Runs in the stream Worker (stream-worker.js) or, where no module Worker can start, on the
//     page: no DOM here. The session GUID is handed in (`session`) and kept up to date from the
//     hello; the page stores it (sessionStore), since a Worker has no localStorage or cookies.
//   * Reconnects by itself with exponential backoff, 0.5 s doubling to 10 s, each delay drawn
//     uniformly in [50 %, 100 %] of the step (so many pages do not reconnect in lock step).
//     A connection that hears nothing for 6 s (not even a `time` reply) is treated as dead.

const SESSION_KEY = 'loopcast.session';
const COOKIE = 'loopcast_session';
const GUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const sessionStore = {
  get() {
    let v = null;
    try { v = localStorage.getItem(SESSION_KEY); } catch { /* storage disabled */ }
    if (!v) {
      const m = document.cookie.match(/(?:^|;\s*)loopcast_session=([^;]+)/);
      v = m ? decodeURIComponent(m[1]) : null;
    }
    return v && GUID_RE.test(v) ? v : null;
  },
  set(id) {
    if (!id || !GUID_RE.test(id)) return;
    let stored = false;
    try { localStorage.setItem(SESSION_KEY, id); stored = localStorage.getItem(SESSION_KEY) === id; } catch { /* fall back */ }
    if (!stored) {
      document.cookie = `${COOKIE}=${encodeURIComponent(id)}; path=/; max-age=31536000; SameSite=Lax`;
    }
  },
  clear() {
    try { localStorage.removeItem(SESSION_KEY); } catch { /* ignore */ }
    document.cookie = `${COOKIE}=; path=/; max-age=0; SameSite=Lax`;
  },
};

// base: the page's URL (a Worker's own location is the script's, not the page's).
export function streamUrl(base, session) {
  const u = new URL('stream', base);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  u.search = '';
  u.hash = '';
  if (session) u.searchParams.set('session', session);
  return u.href;
}

export const HEADER_V1 = 24;

// Parses one binary message; null if it is not an audio packet we understand.
export function parsePacket(buf) {
  if (buf.byteLength < 4) return null;
  const v = new DataView(buf);
  const kind = v.getUint8(0), flags = v.getUint8(1), hlen = v.getUint16(2, true);
  if (kind !== 1 || hlen < HEADER_V1 || hlen > buf.byteLength) return null;
  return {
    flags,
    discontinuity: (flags & 1) !== 0,
    seq: v.getUint32(4, true),
    pts: Number(v.getBigUint64(8, true)),
    captureNs: Number(v.getBigUint64(16, true)),
    data: new Uint8Array(buf, hlen),
  };
}

export class Connection {
  // handlers: onState(state, detail), onHello(msg), onPacket(pkt), onMessage(msg),
  //   onClose(code, reason), onClock(offsetMs, rttMs); base: the page's URL; session: GUID or null
  constructor(handlers, { base, session = null }) {
    this.h = handlers;
    this.base = base;
    this.session = GUID_RE.test(session || '') ? session : null;
    this.ws = null;
    this.state = 'idle';     // idle | connecting | connected | reconnecting | stopped
    this.wanted = false;
    this.attempt = 0;
    this.retryTimer = null;
    this.pingTimer = null;
    this.watchdog = null;
    this.lastHeard = 0;
    this.clock = [];         // {rtt, offset} of recent pings
    this.offsetMs = null;    // performance.now() − server ms
    this.rttMs = null;
    this.connects = 0;
  }

  setState(s, detail) {
    this.state = s;
    this.h.onState && this.h.onState(s, detail);
  }

  start() {
    this.wanted = true;
    if (!this.ws && !this.retryTimer) this.open();
  }

  stop() {
    this.wanted = false;
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.teardown(1000);
    this.setState('stopped');
  }

  open() {
    this.retryTimer = null;
    this.setState(this.attempt ? 'reconnecting' : 'connecting');
    let ws;
    try {
      ws = new WebSocket(streamUrl(this.base, this.session), ['loopcast.v1']);
    } catch (e) {
      this.scheduleRetry(String(e));
      return;
    }
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    this.clock = [];
    ws.onopen = () => {
      this.lastHeard = performance.now();
      this.ping();
      this.pingTimer = setInterval(() => this.ping(), 2000);
      this.watchdog = setInterval(() => {
        if (performance.now() - this.lastHeard > 6000) {
          this.teardown(4000);
          this.scheduleRetry('no data for 6 s');
        }
      }, 1000);
    };
    ws.onmessage = (e) => this.onMessage(e.data);
    ws.onclose = (e) => {
      if (this.ws !== ws) return;
      this.teardown();
      if (e.code === 1008) this.session = null;   // session forgotten or malformed: get a new one
      this.h.onClose && this.h.onClose(e.code, e.reason);
      if (this.wanted) this.scheduleRetry(`closed (${e.code}${e.reason ? ' ' + e.reason : ''})`);
    };
    ws.onerror = () => { /* onclose follows and decides */ };
  }

  teardown(code) {
    clearInterval(this.pingTimer);
    clearInterval(this.watchdog);
    this.pingTimer = this.watchdog = null;
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      try { ws.close(code || 1000); } catch { /* already closing */ }
    }
  }

  scheduleRetry(why) {
    if (!this.wanted || this.retryTimer) return;
    const step = Math.min(10000, 500 * 2 ** Math.min(this.attempt, 5));
    const delay = step * (0.5 + 0.5 * Math.random());
    this.attempt++;
    this.setState('reconnecting', { why, delayMs: delay });
    this.retryTimer = setTimeout(() => this.open(), delay);
  }

  send(obj) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify(obj));
      return true;
    }
    return false;
  }

  ping() { this.send({ type: 'ping', t: performance.now() }); }

  onMessage(data) {
    this.lastHeard = performance.now();
    if (typeof data !== 'string') {
      const p = parsePacket(data);
      if (p) this.h.onPacket(p);
      return;
    }
    let m;
    try { m = JSON.parse(data); } catch { return; }
    switch (m.type) {
      case 'hello':
        this.attempt = 0;
        this.connects++;
        if (m.session && GUID_RE.test(m.session.id || '')) this.session = m.session.id;
        this.setState('connected');
        this.h.onHello(m);
        break;
      case 'time': this.onTime(m); break;
      default: this.h.onMessage && this.h.onMessage(m);
    }
  }

  onTime(m) {
    const now = performance.now();
    const t = Number(m.echo);
    if (!Number.isFinite(t) || t > now) return;
    const rtt = now - t;
    const offset = (t + now) / 2 - Number(m.server_ns) / 1e6;
    this.clock.push({ rtt, offset });
    if (this.clock.length > 16) this.clock.shift();
    let best = this.clock[0];
    for (const c of this.clock) if (c.rtt < best.rtt) best = c;
    this.offsetMs = best.offset;
    this.rttMs = rtt;
    this.h.onClock && this.h.onClock(this.offsetMs, rtt);
  }

  // Server CLOCK_MONOTONIC ns → performance.now() ms (null until the first `time` reply).
  serverToPerf(ns) { return this.offsetMs === null ? null : ns / 1e6 + this.offsetMs; }
}
