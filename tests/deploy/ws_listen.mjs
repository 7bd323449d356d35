// ws_listen.mjs URL MIN_MESSAGES TIMEOUT_S — a real WebSocket listener (npm ws from
// tests/node_modules): connects with subprotocol loopcast.v1, expects the text hello first, then
// counts binary audio messages. Exit 0 once MIN_MESSAGES arrived, 1 on timeout, close or error.
// The container test's fallback when build/tests/bench/loopcast-bench is not built.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '..', 'package.json'));
const WebSocket = require('ws');
const [url, minS = '50', timeoutS = '10'] = process.argv.slice(2);
const min = Number(minS);
let hello = false, audio = 0;
const ws = new WebSocket(url, 'loopcast.v1');
const timer = setTimeout(() => done(1, 'timeout'), Number(timeoutS) * 1000);
function done(rc, why) {
  clearTimeout(timer);
  console.log(`ws_listen: ${why}: hello=${hello} audio messages=${audio}`);
  try { ws.terminate(); } catch {}
  process.exit(rc);
}
ws.on('message', (data, isBinary) => {
  if (!isBinary) {
    try { if (JSON.parse(data.toString()).type === 'hello') hello = true; } catch {}
    return;
  }
  if (!hello) return done(1, 'audio before hello');
  if (++audio >= min) done(0, 'ok');
});
ws.on('close', (code) => done(1, `closed ${code}`));
ws.on('error', (e) => done(1, `error ${e.message}`));
