// fault_lib.mjs — what the fault tests share: listeners that decode what they hear (through
// tests/fault's lc-fault-decode), an events client, /readyz and /metrics probes, and waits.
// Every check reads real observed values; nothing here knows what the answer should be.
import { spawn } from 'node:child_process';
import readline from 'node:readline';
import WebSocket from 'ws';

export const now = () => performance.now();
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let failed = 0;
export const fail = (m) => { console.log(`FAIL: ${m}`); failed++; };
export const pass = (m) => console.log(`PASS: ${m}`);
export const failures = () => failed;

// Polls pred() (sync or async) every 50 ms; resolves with its first truthy value, or null.
export async function waitFor(pred, ms) {
  const end = now() + ms;
  for (;;) {
    const v = await pred();
    if (v) return v;
    if (now() > end) return null;
    await sleep(50);
  }
}

// An audio listener on /stream whose packets go through lc-fault-decode: `windows` fills with
// {t, rms, hz} every 200 ms of decoded audio, `packets` with arrival times, `texts` with the
// JSON messages; `closed` is set if the server ever closes it.
export function listener(base, decoder, name) {
  const ws = new WebSocket(`ws://${base}/stream`, 'loopcast.v1');
  const dec = spawn(decoder, ['200'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const L = { name, ws, dec, packets: [], windows: [], texts: [], closed: null, bad: 0 };
  dec.stdin.on('error', () => {});
  ws.on('message', (data, isBinary) => {
    const t = now();
    if (!isBinary) {
      try { L.texts.push({ t, j: JSON.parse(data.toString()) }); } catch { L.bad++; }
      return;
    }
    if (data.length < 24 || data[0] !== 1) { L.bad++; return; }
    L.packets.push(t);
    const hl = data[2] | (data[3] << 8);
    const op = data.subarray(hl);
    const lb = Buffer.alloc(2);
    lb.writeUInt16LE(op.length);
    dec.stdin.write(Buffer.concat([lb, op]));
  });
  ws.on('close', (code, reason) => { L.closed = { code, reason: reason.toString(), t: now() }; });
  ws.on('error', () => {});
  readline.createInterface({ input: dec.stdout }).on('line', (line) => {
    const [w, rms, hz] = line.split(' ');
    if (w === 'W') L.windows.push({ t: now(), rms: Number(rms), hz: Number(hz) });
  });
  L.open = () => new Promise((res) => {
    if (ws.readyState === WebSocket.OPEN) res(true);
    ws.once('open', () => res(true));
    ws.once('close', () => res(false));
  });
  L.stop = () => { ws.close(); dec.stdin.end(); };
  return L;
}

// The last `k` windows that ended after `since` all carry the tone `hz` (±3 Hz, audible) ...
export function hears(L, hz, since, k = 3) {
  const w = L.windows.filter((x) => x.t > since).slice(-k);
  return w.length === k && w.every((x) => x.rms > 0.05 && Math.abs(x.hz - hz) <= 3) ? w : null;
}
// ... or are silent.
export function silent(L, since, k = 3) {
  const w = L.windows.filter((x) => x.t > since).slice(-k);
  return w.length === k && w.every((x) => x.rms < 0.001) ? w : null;
}
// Packets that arrived in [t0, t1]: count and the longest gap between two of them (ms).
export function flow(L, t0, t1) {
  const p = L.packets.filter((t) => t >= t0 && t <= t1);
  let gap = p.length ? Math.max(p[0] - t0, t1 - p[p.length - 1]) : t1 - t0;
  for (let i = 1; i < p.length; i++) gap = Math.max(gap, p[i] - p[i - 1]);
  return { n: p.length, gap };
}
export const describe = (L, since) =>
  L.windows.filter((x) => x.t > since).slice(-5).map((x) => `${x.hz.toFixed(0)}Hz@${x.rms.toFixed(3)}`).join(' ');

// The events socket (/api/v1/events), authenticated by its first message.
export async function events(base, token) {
  const ws = new WebSocket(`ws://${base}/api/v1/events`, 'loopcast.events.v1');
  const E = { ws, msgs: [], closed: null };
  ws.on('message', (data) => { try { E.msgs.push({ t: now(), j: JSON.parse(data.toString()) }); } catch {} });
  ws.on('close', (code) => { E.closed = { code, t: now() }; });
  ws.on('error', () => {});
  await new Promise((r) => { ws.once('open', r); ws.once('close', r); });
  ws.send(JSON.stringify({ type: 'auth', token }));
  E.find = (pred, since = 0) => E.msgs.find((m) => m.t > since && pred(m.j)) || null;
  return E;
}

export async function readyz(base) {
  try {
    const r = await fetch(`http://${base}/readyz`);
    const text = await r.text();
    let j = null;
    try { j = JSON.parse(text); } catch {}
    return { status: r.status, j, text };
  } catch (e) {
    return { status: 0, j: null, text: String(e) };
  }
}

// One sample of /metrics by name (no labels), or NaN.
export async function metric(base, name) {
  const r = await fetch(`http://${base}/metrics`);
  const text = await r.text();
  const m = text.match(new RegExp(`^${name} (\\S+)$`, 'm'));
  return m ? Number(m[1]) : NaN;
}
