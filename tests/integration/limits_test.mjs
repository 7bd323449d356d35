// limits_test.mjs SPEC_JSON — WebSocket clients for limits_test.sh. SPEC:
//   {"hold": ms to keep everything open at the end (default 300),
//    "conns": [{"url": "ws://...", "origin": "...", "protocol": "...", "headers": {...},
//               "send": [{"size": bytes, "count": n}] }, ...]}
// Connections open one after another (each waits for its 101 or refusal, then 150 ms so a
// server-side close can arrive); each then sends its messages (text, a `ping` padded to `size`
// bytes). Prints one line per connection, in order:
//   N opened=0|1 status=<HTTP status of a refused upgrade, or 101> close=<code or -> reason=<...>
//     body=<refusal body, one line>
// and exits 0 (the shell script asserts on the lines).
import WebSocket from 'ws';

const spec = JSON.parse(process.argv[2]);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function ping(size) {
  const base = '{"type":"ping","t":1,"pad":"';
  const pad = Math.max(0, size - base.length - 2);
  return base + 'x'.repeat(pad) + '"}';
}

function connect(c) {
  const r = { opened: 0, status: '-', close: '-', reason: '-', body: '-' };
  const opts = { headers: c.headers || {} };
  if (c.origin) opts.origin = c.origin;
  const ws = new WebSocket(c.url, c.protocol ? [c.protocol] : [], opts);
  r.ws = ws;
  r.ready = new Promise((resolve) => {
    ws.on('open', () => { r.opened = 1; r.status = 101; resolve(); });
    ws.on('unexpected-response', (_req, res) => {
      r.status = res.statusCode;
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => { r.body = body.trim().replace(/\s+/g, ' '); resolve(); });
      res.on('error', () => resolve());
    });
    ws.on('error', (e) => { if (r.status === '-') r.status = `error:${e.code || e.message}`; resolve(); });
    ws.on('close', (code, reason) => { r.close = code; r.reason = reason.toString() || '-'; resolve(); });
  });
  return r;
}

const results = [];
for (const c of spec.conns) {
  const r = connect(c);
  await r.ready;
  await sleep(150);
  for (const s of c.send || []) {
    for (let i = 0; i < (s.count || 1); i++) {
      if (r.ws.readyState !== WebSocket.OPEN) break;
      r.ws.send(ping(s.size || 40));
    }
  }
  results.push(r);
}
await sleep(spec.hold ?? 300);
results.forEach((r, i) => {
  console.log(`${i} opened=${r.opened} status=${r.status} close=${r.close} reason=${r.reason} body=${r.body}`);
  try { r.ws.terminate(); } catch { /* already gone */ }
});
process.exit(0);
