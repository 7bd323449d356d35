// tls_wss.mjs URL_BASE CA_FILE TOKEN — WebSockets over TLS against a running loopcast (or a proxy
// in front of it), with the certificate verified against CA_FILE (never rejectUnauthorized:false):
//   1. wss://…/stream: the hello, then binary audio packets for 2 s — kind 1, 24-byte header,
//      consecutive sequence numbers, at least 80 of the 100 a 20 ms stream sends;
//   2. wss://…/api/v1/events: auth with the token → the hello.
// URL_BASE is like https://127.0.0.1:8443. Prints PASS/FAIL; exit 0 only if every check held.
import fs from 'node:fs';
import WebSocket from 'ws';

const [base, caFile, token] = process.argv.slice(2);
if (!base || !caFile || !token) {
  console.error('usage: node tls_wss.mjs https://HOST:PORT CA_FILE TOKEN');
  process.exit(2);
}
const ca = fs.readFileSync(caFile);
const wsBase = base.replace(/^https:/, 'wss:');
let failed = 0;
const check = (ok, what) => { console.log(`${ok ? 'PASS' : 'FAIL'}: ${what}`); if (!ok) failed++; };

function open(path, proto) {
  return new WebSocket(`${wsBase}${path}`, proto, { ca, origin: base, handshakeTimeout: 5000 });
}

// 1. audio
await new Promise((resolve) => {
  const ws = open('/stream', 'loopcast.v1');
  let hello = null, t0 = 0;
  const pkts = [];
  const done = (why) => {
    clearTimeout(timer);
    ws.terminate();
    check(hello && hello.type === 'hello', `stream hello over wss (${hello ? hello.type : why})`);
    const bad = pkts.filter((p) => p.kind !== 1 || p.hdr !== 24);
    check(pkts.length >= 80 && bad.length === 0,
      `${pkts.length} audio packets in 2 s over wss, ${bad.length} with a bad header`);
    let gaps = 0;
    for (let i = 1; i < pkts.length; i++) if (pkts[i].seq !== ((pkts[i - 1].seq + 1) >>> 0)) gaps++;
    check(pkts.length > 1 && gaps === 0, `sequence numbers consecutive (${gaps} gaps)`);
    resolve();
  };
  const timer = setTimeout(() => done('timeout'), 8000);
  ws.on('message', (data, isBinary) => {
    if (!isBinary) {
      const j = JSON.parse(data.toString());
      if (j.type === 'hello' && !hello) { hello = j; t0 = performance.now(); }
      return;
    }
    if (!t0) return;
    if (performance.now() - t0 > 2000) { done('ok'); return; }
    pkts.push({ kind: data[0], hdr: data.readUInt16LE(2), seq: data.readUInt32LE(4) });
  });
  ws.on('error', (e) => { check(false, `stream socket: ${e.message}`); done(e.message); });
});

// 2. events (auth by first message)
await new Promise((resolve) => {
  const ws = open('/api/v1/events', 'loopcast.events.v1');
  const timer = setTimeout(() => { check(false, 'events hello within 5 s'); ws.terminate(); resolve(); }, 5000);
  ws.on('open', () => ws.send(JSON.stringify({ type: 'auth', token })));
  ws.on('message', (data, isBinary) => {
    if (isBinary) return;
    const j = JSON.parse(data.toString());
    clearTimeout(timer);
    check(j.type === 'hello', `events socket over wss answers auth with ${j.type}`);
    ws.terminate();
    resolve();
  });
  ws.on('close', (code) => { clearTimeout(timer); if (code !== 1005 && code !== 1006) check(false, `events closed ${code}`); resolve(); });
  ws.on('error', (e) => { clearTimeout(timer); check(false, `events socket: ${e.message}`); resolve(); });
});
process.exit(failed ? 1 : 0);
