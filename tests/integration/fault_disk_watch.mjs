// fault_disk_watch.mjs STATE_DIR ID — reads STATE_DIR/sessions.json every 5 ms until SIGTERM and
// checks that every read is a complete version-1 store holding session ID (the old file or the
// new one, never a torn or empty one). On SIGTERM prints one JSON line:
//   {"reads":N,"bad":[first few problems],"names":[names of ID seen, in order],"tmp_seen":N}
// (tmp_seen: reads that saw a temp file sessions.json.tmp-* — legitimate while a write is in
// flight; the test
// checks separately that none is left behind). Exit 0 if every read was good.
import fs from 'node:fs';

const [dir, id] = process.argv.slice(2);
const file = `${dir}/sessions.json`;
let reads = 0, tmpSeen = 0;
const bad = [], names = [];
function check() {
  let text;
  try { text = fs.readFileSync(file, 'utf8'); } catch (e) { return `read: ${e.code}`; }
  let j;
  try { j = JSON.parse(text); } catch { return `not JSON (${text.length} bytes): ${text.slice(0, 80)}`; }
  if (j.version !== 1 || !Array.isArray(j.sessions)) return `not a v1 store: ${text.slice(0, 80)}`;
  const s = j.sessions.find((x) => x.id === id);
  if (!s) return `session ${id} missing`;
  if (names[names.length - 1] !== s.name) names.push(s.name);
  return null;
}
function tick() {
  reads++;
  const e = check();
  if (e && bad.length < 5) bad.push(e);
  if (fs.readdirSync(dir).some((n) => n.startsWith('sessions.json.tmp'))) tmpSeen++;
}
const timer = setInterval(tick, 5);
process.on('SIGTERM', () => {
  clearInterval(timer);
  console.log(JSON.stringify({ reads, bad, names, tmp_seen: tmpSeen }));
  process.exit(bad.length ? 1 : 0);
});
