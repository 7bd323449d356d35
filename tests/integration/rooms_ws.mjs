// rooms_ws.mjs PORT TOKEN — streams and groups as a page and a panel see them (rooms_test.sh):
//   1. the hello lists every stream; a PATCH of the session's stream reaches the page as a
//      `session` message naming the new stream and a `source` of that stream, and the next
//      audio packet carries the discontinuity flag; audio keeps flowing (no reconnect);
//   2. a `set` of an unknown stream is refused with an `error`, nothing changes;
//   3. a group: the member's page gets the group's stream, volume, mute and sync delay; a `set`
//      of its stream answers `in_group`; a muted group sends no audio; the events client sees
//      group.created / group.updated / group.removed, and session.updated naming the group;
//   4. deleting the group returns the page to its own stream, no group, --sync-ms.
// Prints PASS/FAIL lines; exit status 0 only if every check held.
import { now, sleep, checks, check, client } from './ws_lib.mjs';

const [portS, token] = process.argv.slice(2);
const base = `127.0.0.1:${portS}`;
const H = { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' };
// The next matching message's JSON (or null after `ms`).
const next = async (c, pred, ms = 3000) => { const m = await c.wait(pred, ms); return m && m.j; };
async function api(method, path, body) {
  const r = await fetch(`http://${base}/api/v1${path}`, { method, headers: H, body: body ? JSON.stringify(body) : undefined });
  const text = await r.text();
  return { status: r.status, j: text ? JSON.parse(text) : null };
}

const ID = '0a0a0a0a-1111-4222-8333-444444444444';
const page = client(`ws://${base}/stream?session=${ID}`, 'loopcast.v1');
const ev = client(`ws://${base}/api/v1/events`, 'loopcast.events.v1', { Authorization: `Bearer ${token}` });
await Promise.all([page.open, ev.open]);
const hello = await next(page, (m) => m.type === 'hello');
check(hello && hello.streams.map((s) => s.name).join() === 'a,b,c,d' && hello.session.stream === 'a' &&
      hello.source.uri === 'tone:440' && hello.session.group === null && hello.session.group_volume === 100 &&
      hello.session.sync_ms === 0,
      `hello: streams a,b,c,d, session on a (${JSON.stringify(hello && hello.session)})`);
await next(ev, (m) => m.type === 'hello');
await sleep(300);

// 1. move the listener through the API
let t0 = now(), n0 = page.bin.length;
let r = await api('PATCH', `/sessions/${ID}`, { stream: 'b' });
check(r.status === 200 && r.j.stream === 'b', `PATCH stream b: ${r.status} ${r.j && r.j.stream}`);
const sm = await next(page, (m) => m.type === 'session' && m.session.stream === 'b');
const src = await next(page, (m) => m.type === 'source' && m.stream === 'b');
check(sm && src && src.uri === 'tone:1000', `page told: session.stream b in ${sm ? (now() - t0).toFixed(0) : '-'} ms, source of b`);
await sleep(400);
const after = page.bin.slice(n0);
const firstFlag = after.findIndex((p) => p.flags & 1);
check(after.length >= 10 && firstFlag >= 0, `audio continues (${after.length} packets in 400 ms), a discontinuity marks the switch`);
const evS = await next(ev, (m) => m.type === 'session.updated' && m.session.id === ID && m.session.stream === 'b');
check(evS, 'events: session.updated with stream b');

// 2. unknown stream from the page, and through the API
page.ws.send(JSON.stringify({ type: 'set', stream: 'nope' }));
const err = await next(page, (m) => m.type === 'error');
check(err && err.code === 'bad_value' && /no such stream/.test(err.message), `set of an unknown stream: ${JSON.stringify(err)}`);
r = await api('PATCH', `/sessions/${ID}`, { stream: 'nope' });
check(r.status === 400 && r.j.error.code === 'invalid_body', `PATCH unknown stream: ${r.status}`);

// 3. a group
r = await api('POST', '/groups', { name: 'Kitchen', stream: 'c', volume: 40, sync_delay_ms: 300, sessions: [ID] });
check(r.status === 201 && r.j.sessions.length === 1 && r.j.stream === 'c' && r.j.sync === true, `POST group: ${r.status} ${JSON.stringify(r.j)}`);
const gid = r.j.id;
const gs = await next(page, (m) => m.type === 'session' && m.session.group === gid);
check(gs && gs.session.stream === 'c' && gs.session.group_name === 'Kitchen' && gs.session.group_volume === 40 &&
      gs.session.sync_ms === 300, `member's page: ${JSON.stringify(gs && gs.session)}`);
const ge = await next(ev, (m) => m.type === 'group.created' && m.group.id === gid);
const gse = await next(ev, (m) => m.type === 'session.updated' && m.session.group === gid);
check(ge && gse && gse.session.stream === 'c', 'events: group.created, session.updated naming the group');
page.ws.send(JSON.stringify({ type: 'set', stream: 'a' }));
const ig = await next(page, (m) => m.type === 'error');
check(ig && ig.code === 'in_group', `set stream while grouped: ${JSON.stringify(ig)}`);
r = await api('PATCH', `/sessions/${ID}`, { stream: 'a' });
check(r.status === 409 && r.j.error.code === 'in_group', `PATCH stream while grouped: ${r.status}`);
r = await api('PATCH', `/groups/${gid}`, { muted: true, sync: false });
const mu = await next(page, (m) => m.type === 'session' && m.session.group_muted === true);
check(mu && mu.session.sync_ms === 0, 'group mute and sync off reach the page');
await sleep(200);
n0 = page.bin.length;
await sleep(1000);
check(page.bin.length - n0 === 0, `muted group: ${page.bin.length - n0} packets in 1 s`);
await api('PATCH', `/groups/${gid}`, { muted: false });
await next(page, (m) => m.type === 'session' && m.session.group_muted === false);
await sleep(500);
check(page.bin.length - n0 > 10, 'unmuted: audio again');
const gu = await next(ev, (m) => m.type === 'group.updated' && m.group.id === gid && m.group.muted === false);
check(gu, 'events: group.updated');

// 4. delete the group
r = await api('DELETE', `/groups/${gid}`);
check(r.status === 204, `DELETE group: ${r.status}`);
const back = await next(page, (m) => m.type === 'session' && m.session.group === null);
check(back && back.session.stream === 'b' && back.session.group_volume === 100 && back.session.sync_ms === 0,
      `ungrouped page back on its own stream b: ${JSON.stringify(back && back.session)}`);
const gr = await next(ev, (m) => m.type === 'group.removed' && m.group.id === gid);
check(gr, 'events: group.removed');

page.ws.close();
ev.ws.close();
await sleep(200);
console.log(checks.failed ? `rooms_ws: ${checks.failed} check(s) failed` : 'rooms_ws: all checks passed');
process.exit(checks.failed ? 1 : 0);
