// threads_ws.mjs PORT TOKEN THREADS — the API and events reach connections on every service thread
// (threads_test.sh, a server started with --threads THREADS):
//   1. N connections of one session (N = 2 × THREADS: the hand-over spreads them over the
//      threads, /metrics' loopcast_thread_listeners shows each thread holding some) and an
//      events client;
//   2. a PATCH reaches every one of them and the events client;
//   3. a group with the session: every connection gets the new view (stream b);
//   4. DELETE closes every connection with 1008 "session forgotten".
// Prints PASS/FAIL lines; exit status 0 only if every check held.
import { sleep, checks, fail, pass, check, client } from './ws_lib.mjs';

const [portS, token, threadsS] = process.argv.slice(2);
const base = `127.0.0.1:${portS}`;
const threads = Number(threadsS);
const H = { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' };
const ID = '6d1c0e4a-0b7e-4c51-9a43-5b3f4f0a7a21';

async function api(method, path, body) {
  const r = await fetch(`http://${base}${path}`, {
    method, headers: H, body: body ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* /metrics is text */ }
  return { status: r.status, json, text };
}

// ---- 1. connections on every thread -------------------------------------------------------------
const E = client(`ws://${base}/api/v1/events`, 'loopcast.events.v1');
await E.open;
E.ws.send(JSON.stringify({ type: 'auth', token }));
if (!(await E.wait((j) => j.type === 'hello'))) { fail('no hello on the events socket'); process.exit(1); }
const n = 2 * threads;
const L = [];
for (let i = 0; i < n; i++) {
  L.push(client(`ws://${base}/stream?session=${ID}`, 'loopcast.v1'));
  await L[i].open; // one at a time: each goes to the least busy thread then
}
const hellos = await Promise.all(L.map((c) => c.wait((j) => j.type === 'hello')));
check(hellos.every((h) => h && h.j.session.id === ID), `${n} connections of session ${ID.slice(0, 8)} got their hello`);
const m = await api('GET', '/metrics');
const per = [...m.text.matchAll(/^loopcast_thread_listeners\{thread="(\d+)"\} (\d+)/gm)].map((x) => Number(x[2]));
console.log(`loopcast_thread_listeners: ${per.join(' ')}`);
check(per.length === threads && per.every((v) => v > 0),
  `every one of ${threads} threads holds listeners (${per.join('/')})`);
const st = await api('GET', '/api/v1/status');
check(st.json && st.json.threads === threads, `status.threads = ${st.json && st.json.threads}`);
const live = await api('GET', `/api/v1/sessions/${ID}`);
check(live.json && live.json.connections === n,
  `the session counts its ${n} connections across the threads (${live.json && live.json.connections})`);

// ---- 2. a PATCH reaches every connection --------------------------------------------------------
{
  const waits = L.map((c) => c.wait((j) => j.type === 'session' && j.session.volume === 37, 3000));
  const pE = E.wait((j) => j.type === 'session.updated' && j.session.id === ID && j.session.volume === 37, 3000);
  const r = await api('PATCH', `/api/v1/sessions/${ID}`, { volume: 37 });
  check(r.status === 200, `PATCH: ${r.status}`);
  const got = (await Promise.all(waits)).filter(Boolean).length;
  check(got === n, `the PATCH reached ${got} of ${n} connections`);
  check(!!(await pE), 'the events client saw session.updated');
}

// ---- 3. a group moves every connection to stream b ----------------------------------------------
{
  const waits = L.map((c) => c.wait((j) => j.type === 'session' && j.session.group && j.session.stream === 'b', 3000));
  const r = await api('POST', '/api/v1/groups', { name: 'Hall', stream: 'b', sessions: [ID] });
  check(r.status === 201, `POST group: ${r.status} ${r.text.slice(0, 120)}`);
  const got = (await Promise.all(waits)).filter(Boolean);
  check(got.length === n, `the group (stream b) reached ${got.length} of ${n} connections`);
}

// ---- 4. DELETE closes every connection ----------------------------------------------------------
{
  const r = await api('DELETE', `/api/v1/sessions/${ID}`);
  check(r.status === 204, `DELETE: ${r.status}`);
  const closes = await Promise.all(L.map((c) => c.waitClose(5000)));
  const ok = closes.filter((c) => c && c.code === 1008 && c.reason === 'session forgotten').length;
  check(ok === n, `DELETE closed ${ok} of ${n} connections with 1008 "session forgotten"`);
}
E.ws.close();
await sleep(100);
process.exit(checks.failed ? 1 : 0);
