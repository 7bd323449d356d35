// ws_lib.mjs — what the WebSocket integration scripts (push_test.mjs, rooms_ws.mjs) share: PASS/FAIL
// lines with a count, and a WebSocket client that collects what it receives.
import WebSocket from 'ws';

export const now = () => performance.now();
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// PASS/FAIL lines; `failed` counts the failures.
export const checks = { failed: 0 };
export const fail = (m) => { console.log(`FAIL: ${m}`); checks.failed++; };
export const pass = (m) => console.log(`PASS: ${m}`);
export const check = (ok, m) => (ok ? pass(m) : fail(m));

// A WebSocket whose messages are collected ({t, j} for text, {t, flags} for binary in c.bin);
// wait(pred) resolves with the first message not yet taken whose JSON matches (or null after a
// timeout or a close).
export function client(url, proto, headers) {
  const ws = new WebSocket(url, proto, { headers });
  const c = { ws, msgs: [], bin: [], closed: null, waiters: [] };
  c.open = new Promise((res) => ws.on('open', res));
  ws.on('message', (data, isBinary) => {
    const t = now();
    if (isBinary) { c.bin.push({ t, flags: data[1] }); return; }
    const m = { t, j: JSON.parse(data.toString()) };
    c.msgs.push(m);
    c.waiters = c.waiters.filter((w) => !(w.pred(m.j) && (w.res(m), true)));
  });
  ws.on('close', (code, reason) => {
    c.closed = { code, reason: reason.toString(), t: now() };
    c.waiters.forEach((w) => w.res(null));
    c.waiters = [];
  });
  ws.on('error', () => {});
  c.wait = (pred, ms = 2000) => new Promise((res) => {
    const hit = c.msgs.find((m) => !m.used && pred(m.j));
    if (hit) { hit.used = true; res(hit); return; }
    const w = { pred, res: (m) => { if (m) m.used = true; clearTimeout(w.timer); res(m); } };
    w.timer = setTimeout(() => { c.waiters = c.waiters.filter((x) => x !== w); res(null); }, ms);
    c.waiters.push(w);
  });
  c.waitClose = async (ms = 7000) => {
    for (let t = 0; t < ms && !c.closed; t += 20) await sleep(20);
    return c.closed;
  };
  return c;
}

