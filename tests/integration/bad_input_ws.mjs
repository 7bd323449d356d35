// bad_input_ws.mjs PORT SCENARIO [TOKEN] — one malformed WebSocket input against a running
// loopcast (called by bad_input_test.sh), printing the answer it got as one line:
//   "http 403 forbidden"        the handshake was refused (status and the JSON error code, if any)
//   "close 1003"                the server closed the connection with that code
//   "closed, no answer"         the TCP connection was dropped before any handshake answer
//   "error bad_json, open"      the server answered an `error` message and the connection still
//                               works (a ping after it is answered)
//   "open"                      accepted (the hello arrived, or for the events socket, its hello)
//   "timeout"                   nothing within 6 s
import WebSocket from 'ws';

const [portS, scenario, token = ''] = process.argv.slice(2);
const base = `ws://127.0.0.1:${portS}`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const big = (n) => JSON.stringify({ type: 'ping', t: 1, pad: 'x'.repeat(n) });

// Each scenario: path, subprotocols, headers, and what to send once the hello is in.
const S = {
  'stream-proto-wrong': { path: '/stream', proto: ['loopcast.v9'] },
  'stream-proto-none': { path: '/stream', proto: [] },
  'stream-proto-events': { path: '/stream', proto: ['loopcast.events.v1'] },
  'events-proto-none': { path: '/api/v1/events', proto: [], auth: true },
  'events-proto-stream': { path: '/api/v1/events', proto: ['loopcast.v1'], auth: true },
  'bad-session': { path: '/stream?session=not-a-guid', proto: ['loopcast.v1'] },
  binary: { send: [Buffer.from([1, 2, 3, 4])], binary: true },
  'bad-json': { send: ['{"type":'] },
  'not-object': { send: ['[1,2,3]'] },
  'no-type': { send: ['{"volume":5}'] },
  'unknown-type': { send: ['{"type":"dance"}'] },
  'set-range': { send: ['{"type":"set","volume":101}'] },
  'set-type': { send: ['{"type":"set","muted":"yes"}'] },
  'set-unknown-field': { send: ['{"type":"set","colour":"red"}'] },
  'set-bad-utf8': { send: [Buffer.from('{"type":"set","name":"a\xff\xfeb"}', 'latin1')] },
  oversize: { send: [big(8000)] },
  flood: { send: Array.from({ length: 200 }, (_, i) => `{"type":"ping","t":${i}}`), flood: true },
  origin: { headers: { Origin: 'http://evil.example' } },
  'events-wrong-token': { path: '/api/v1/events', proto: ['loopcast.events.v1'], send: ['{"type":"auth","token":"wrong"}'] },
  'events-garbage-auth': { path: '/api/v1/events', proto: ['loopcast.events.v1'], send: ['hello?'] },
};

const sc = S[scenario];
if (!sc) {
  console.error(`bad_input_ws.mjs: unknown scenario '${scenario}' (${Object.keys(S).join(', ')})`);
  process.exit(2);
}
const path = sc.path ?? '/stream';
const events = path.startsWith('/api/v1/events');
const headers = { ...(sc.headers ?? {}) };
if (sc.auth) headers.Authorization = `Bearer ${token}`;
const ws = new WebSocket(base + path, sc.proto ?? (events ? ['loopcast.events.v1'] : ['loopcast.v1']),
  { headers, origin: headers.Origin });
const msgs = [];
let closed = null;
let refused = null;
let opened = false;
ws.on('unexpected-response', (_req, res) => {
  let body = '';
  res.on('data', (d) => { body += d; });
  res.on('end', () => {
    let code = '';
    try { code = JSON.parse(body).error.code; } catch { /* not JSON */ }
    refused = `http ${res.statusCode}${code ? ' ' + code : ''}`;
  });
});
ws.on('open', () => { opened = true; });
ws.on('message', (data, isBinary) => {
  if (!isBinary) {
    try { msgs.push(JSON.parse(data.toString())); } catch { msgs.push({ type: 'unparsable' }); }
  }
});
ws.on('close', (code) => { closed = code; });
ws.on('error', () => {});

async function until(pred, ms) {
  for (let t = 0; t < ms; t += 10) {
    if (pred()) return true;
    await sleep(10);
  }
  return pred();
}

function done(answer) {
  console.log(answer);
  try { ws.terminate(); } catch { /* gone */ }
  process.exit(0);
}

(async () => {
  const settled = () => refused || closed !== null;
  // The audio socket says hello first; the events socket says hello after authentication.
  const helloExpected = !events || sc.auth;
  await until(() => settled() || (opened && (!helloExpected || msgs.some((m) => m.type === 'hello'))), 6000);
  if (refused) done(refused);
  // 1006 before any 101: the server dropped the TCP connection during the handshake
  if (closed !== null) done(!opened && closed === 1006 ? 'closed, no answer' : `close ${closed}`);
  if (!opened) done('timeout');
  if (!sc.send) done(msgs.some((m) => m.type === 'hello') ? 'open' : 'open, no hello');
  const before = msgs.length;
  for (const m of sc.send) ws.send(m, { binary: !!sc.binary });
  if (sc.flood) {
    // every ping answered and still open = no limit; a close = the rate limit
    await until(() => closed !== null || msgs.filter((m) => m.type === 'time').length >= sc.send.length, 6000);
    if (closed !== null) done(`close ${closed}`);
    done(`all ${msgs.filter((m) => m.type === 'time').length} answered, open`);
  }
  await until(() => closed !== null || msgs.length > before, 6000);
  if (closed !== null) done(`close ${closed}`);
  const first = msgs[before];
  if (!first) done('timeout');
  // is the connection still usable?
  ws.send('{"type":"ping","t":42}');
  await until(() => closed !== null || msgs.some((m) => m.type === 'time' && m.echo === 42), 3000);
  const open = closed === null && msgs.some((m) => m.type === 'time' && m.echo === 42);
  done(`${first.type === 'error' ? 'error ' + first.code : first.type}, ${open ? 'open' : 'closed ' + closed}`);
})();
