// shutdown_test.mjs — SIGTERM as an operator (and Kubernetes) sends it:
//   every audio and events WebSocket gets close code 1001, the process exits 0 within 2 s, and
//   the store holds the last change, acknowledged only moments before the signal.
// Also: with --log-format json every line the server logs is one JSON object.
//   node tests/integration/shutdown_test.mjs      (LOOPCAST_BIN=... picks the binary)
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '..', 'package.json'));
const WebSocket = require('ws');
const BIN = process.env.LOOPCAST_BIN || path.join(here, '..', '..', 'build', 'server', 'loopcast');
const TOKEN = 'shutdown-test-token-0123456789';
let failures = 0, passes = 0;
const check = (ok, what) => { if (ok) { passes++; console.log(`PASS: ${what}`); } else { failures++; console.log(`FAIL: ${what}`); } };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

async function main() {
  if (!fs.existsSync(BIN)) throw new Error(`no loopcast binary at ${BIN}`);
  const port = await freePort();
  const state = fs.mkdtempSync(path.join(os.tmpdir(), 'loopcast-shutdown-'));
  const srv = spawn(BIN, ['--source', 'tone:440', '--bind', '127.0.0.1', '--port', String(port),
    '--state-dir', state, '--api-token', TOKEN, '--log-format', 'json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  srv.stdout.on('data', (d) => { log += d; });
  srv.stderr.on('data', (d) => { log += d; });
  const exited = new Promise((resolve) => srv.on('exit', (code, sig) => resolve({ code, sig, at: Date.now() })));
  try {
    const base = `http://127.0.0.1:${port}`;
    for (let i = 0; i < 100; i++) {
      try { if ((await fetch(`${base}/healthz`)).ok) break; } catch { /* not yet */ }
      await sleep(100);
    }
    // three listeners and one events client
    const closes = [];
    const open = (url, proto) => new Promise((resolve, reject) => {
      const ws = new WebSocket(url, proto);
      const rec = { code: null, hello: null };
      closes.push(rec);
      ws.on('message', (d, bin) => { if (!bin && !rec.hello) rec.hello = JSON.parse(d.toString()); });
      ws.on('close', (code) => { rec.code = code; });
      ws.on('open', () => resolve({ ws, rec }));
      ws.on('error', reject);
    });
    const listeners = [];
    for (let i = 0; i < 3; i++) listeners.push(await open(`ws://127.0.0.1:${port}/stream`, 'loopcast.v1'));
    const ev = await open(`ws://127.0.0.1:${port}/api/v1/events`, 'loopcast.events.v1');
    ev.ws.send(JSON.stringify({ type: 'auth', token: TOKEN }));
    await sleep(500);
    const id = listeners[0].rec.hello && listeners[0].rec.hello.session.id;
    check(/^[0-9a-f-]{36}$/.test(id || ''), 'listener got a session id in its hello');

    // the last change, acknowledged 100 ms before SIGTERM (well inside the store's coalescing delay)
    const r = await fetch(`${base}/api/v1/sessions/${id}`, {
      method: 'PATCH', headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ volume: 17, name: 'last words' }),
    });
    check(r.status === 200, `PATCH acknowledged (${r.status})`);
    await sleep(100);
    const t0 = Date.now();
    srv.kill('SIGTERM');
    const ex = await Promise.race([exited, sleep(4000).then(() => null)]);
    check(ex && ex.code === 0, `exit status 0 after SIGTERM (${ex ? ex.code ?? ex.sig : 'still running'})`);
    check(ex && ex.at - t0 < 2000, `exited within 2 s (${ex ? ex.at - t0 : '>4000'} ms)`);
    await sleep(200);
    closes.forEach((c, i) => check(c.code === 1001, `client ${i} closed with 1001 (got ${c.code})`));

    const store = JSON.parse(fs.readFileSync(path.join(state, 'sessions.json'), 'utf8'));
    const s = store.sessions.find((x) => x.id === id);
    check(s && s.volume === 17 && s.name === 'last words', `the store holds the last change (${JSON.stringify(s)})`);
    check(!fs.readdirSync(state).some((f) => f.includes('.tmp')), 'no temp file left in the state dir');

    const lines = log.split('\n').filter((l) => l.trim());
    const bad = lines.filter((l) => { try { const o = JSON.parse(l); return !(o.ts && o.level && o.msg); } catch { return true; } });
    check(lines.length > 3 && bad.length === 0, `--log-format json: ${lines.length} lines, ${bad.length} not JSON ${bad.slice(0, 2).join(' | ')}`);
  } finally {
    srv.kill('SIGKILL');
    fs.rmSync(state, { recursive: true, force: true });
  }
}

main().then(() => {
  console.log(`${passes} passed, ${failures} failed`);
  process.exit(failures ? 1 : 0);
}, (e) => { console.log(`FAIL: ${e.stack || e}`); console.log(`${passes} passed, ${failures + 1} failed`); process.exit(1); });
