// rooms.test.mjs — several streams and rooms (issue 14) in headless Chromium against the real
// server, started with two streams: `--stream a=tone:440 --stream b=tone:1000`.
//   node --test tests/browser/rooms.test.mjs     (LOOPCAST_BIN=... to pick the binary)
// 1. The listener page lists both streams and switches from a to b through its Settings select:
//    window.loopcast.stream and the API's session follow within a second, decoding goes on, and
//    what the page plays into a PulseAudio null sink (pulse.mjs), recorded across the switch,
//    goes from 440 Hz to 1000 Hz: the real proof that the page plays the other stream.
// 2. /admin: a listener is moved to another stream from its row; a room is created, the listener
//    put in it with the row's Room select (no drag and drop); the room's stream, volume, mute,
//    in-step switch and delay reach the page (its stream, its select disabled with the room's
//    name, its output gain and level, the delay it plays at); deleting the room sets it free.
// 3. /admin by drag and drop (Playwright's dragTo, real HTML5 drag events): a listener dragged
//    onto a room joins it, dragged onto Ungrouped leaves it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  OUT, freePort, startServer, stopAllServers, launchBrowser, watchPage, snapshot, waitFor, sleep,
} from './harness.mjs';
import { startPulse, RATE } from './pulse.mjs';

const TOKEN = 'rooms-test-token-0123456789';
const FULL_RMS = 0.3536; // a tone at amplitude 0.5, volume 100 (session.test.mjs)

let pulse;
before(async () => { pulse = await startPulse(); });
after(async () => { await stopAllServers(); if (pulse) pulse.stop(); });

async function api(base, method, p, body) {
  const r = await fetch(`${base}/api/v1/${p}`, {
    method, headers: { Authorization: `Bearer ${TOKEN}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}

// Polls fn() until it returns something truthy; the last value goes into the failure.
async function until(fn, what, ms = 3000) {
  const end = Date.now() + ms;
  let last;
  for (;;) {
    last = await fn();
    if (last) return last;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(50);
  }
}
const apiSession = async (base, id) => (await api(base, 'GET', `sessions/${id}`)).body;

// Two streams; `extra` adds flags.
async function startRooms(port, state, logName, extra = []) {
  return startServer(['--stream', 'a=tone:440', '--stream', 'b=tone:1000', '--bind', '127.0.0.1',
    '--port', String(port), '--state-dir', state, '--api-token', TOKEN, ...extra], { logName });
}

// A fresh server with both streams: its base URL and state directory.
async function roomsServer(prefix, logName) {
  const port = await freePort();
  const state = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  await startRooms(port, state, logName);
  return { base: `http://127.0.0.1:${port}`, state, port };
}

async function play(page, url) {
  await page.goto(url);
  await page.click('#play');
  await waitFor(page, () => window.loopcast.state === 'connected' && window.loopcast.decoded > 25,
    undefined, 15000, 'playing');
}

// Median analyser RMS over ~1 s (the analyser follows the volume GainNode).
async function outputRms(page) {
  const v = [];
  for (let i = 0; i < 8; i++) { v.push((await snapshot(page)).rms); await sleep(120); }
  v.sort((a, b) => a - b);
  return v[4];
}

// A recording split into 20 ms windows, each with its wall time (node's performance.now(), from
// when parec's chunk arrived), frequency (zero crossings) and RMS.
function windows(chunks) {
  const W = RATE / 50, out = [];
  let carry = new Int16Array(0);
  for (const [buf, at] of chunks) {
    const s16 = new Int16Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + (buf.length & ~1)));
    const all = new Int16Array(carry.length + s16.length);
    all.set(carry); all.set(s16, carry.length);
    let i = 0;
    for (; i + W <= all.length; i += W) {
      let c = 0, e = 0;
      for (let j = i; j < i + W; j++) {
        if (j > i && (all[j - 1] < 0) !== (all[j] < 0)) c++;
        e += all[j] * all[j];
      }
      out.push({ at: at - (all.length - i - W) * 1000 / RATE, hz: c / 2 / (W / RATE), rms: Math.sqrt(e / W) / 32768 });
    }
    carry = all.slice(i);
  }
  return out;
}

test('the listener page: two streams, switched from its Settings, heard at the sink', { timeout: 90000 }, async () => {
  const { base, state } = await roomsServer('loopcast-rooms-', 'rooms-page');
  const { page, close } = await launchBrowser({ env: pulse.env });
  const problems = watchPage(page);
  try {
    await play(page, `${base}/`);
    const id = await page.evaluate(() => window.loopcast.session);
    assert.deepEqual(await page.evaluate(() => window.loopcast.streams), ['a', 'b'], 'the hello\'s streams');
    assert.equal(await page.evaluate(() => window.loopcast.stream), 'a', 'a new session hears the first stream');
    assert.equal((await apiSession(base, id)).stream, 'a');
    await page.click('.settings summary');
    assert.deepEqual(await page.$$eval('#stream option', (o) => o.map((x) => x.value)), ['a', 'b'], 'the select lists both');
    assert.equal(await page.inputValue('#stream'), 'a');
    assert.equal(await page.isEnabled('#stream'), true, 'not in a room: the listener may choose');
    assert.equal(await page.textContent('#stream-now'), 'a');

    // record across the switch: 440 Hz before, 1000 Hz after
    await sleep(1500);
    const chunks = [];
    const rec = pulse.recorder((buf, at) => chunks.push([buf, at]));
    await sleep(1500);
    const before = await snapshot(page);
    assert.ok(Math.abs(before.hz - 440) <= before.binHz + 1e-9, `the page's output at ${before.hz} Hz before the switch`);
    const t0 = performance.now();
    await page.selectOption('#stream', 'b');
    await waitFor(page, () => window.loopcast.stream === 'b', undefined, 1000, 'window.loopcast.stream b');
    const tPage = performance.now() - t0;
    await until(async () => (await apiSession(base, id)).stream === 'b', 'the API\'s session on stream b', Math.max(50, 1000 - tPage));
    const tApi = performance.now() - t0;
    console.log(`stream b: on the page in ${tPage.toFixed(0)} ms, in the API in ${tApi.toFixed(0)} ms`);
    const d0 = await snapshot(page);
    await sleep(2500);
    rec.stop();
    const d1 = await snapshot(page);
    assert.equal(d1.state, 'connected', 'still connected after the switch');
    assert.ok(d1.decoded - d0.decoded >= 2.5 * 30, `decoded ${d0.decoded} → ${d1.decoded} in 2.5 s after the switch`);
    assert.equal(d1.reconnects, 0, 'a stream switch is not a reconnect');
    assert.ok(Math.abs(d1.hz - 1000) <= d1.binHz + 1e-9, `the page's output at ${d1.hz} Hz after the switch`);
    // the latency figure is taken against the new stream's capture times (not the old one's anchors)
    assert.ok(Number.isFinite(d1.latencyMs) && d1.latencyMs > 0 && d1.latencyMs < 500, `latency figure ${d1.latencyMs} after the switch`);
    const disc = await page.evaluate(() => window.loopcast.discontinuities);
    console.log(`discontinuities flagged: ${disc}, underruns: ${d1.underruns}`);

    // at the sink: 440 Hz until the switch, 1000 Hz within a second of it, and from then on
    const w = windows(chunks).filter((x) => x.rms > 0.05);
    const near = (x, f) => Math.abs(x.hz - f) < 60;
    const pre = w.filter((x) => x.at < t0 - 100);
    assert.ok(pre.length > 30 && pre.filter((x) => near(x, 440)).length >= 0.9 * pre.length,
      `before the switch the sink played 440 Hz: ${pre.filter((x) => near(x, 440)).length}/${pre.length} windows`);
    const first = w.find((x) => x.at > t0 && near(x, 1000));
    assert.ok(first, 'the sink never played 1000 Hz after the switch');
    const heard = first.at - t0;
    const post = w.filter((x) => x.at > first.at + 200);
    const postOk = post.filter((x) => near(x, 1000)).length;
    const quiet = windows(chunks).filter((x) => x.at > t0 && x.rms <= 0.05).length;
    console.log(`sink: 1000 Hz heard ${heard.toFixed(0)} ms after the select changed; after it ${postOk}/${post.length} windows at 1000 Hz; ` +
      `${quiet} quiet 20 ms windows since the switch`);
    assert.ok(heard < 1000, `the new stream reached the sink ${heard.toFixed(0)} ms after the switch`);
    assert.ok(post.length > 50 && postOk >= 0.95 * post.length, `after the switch the sink played 1000 Hz: ${postOk}/${post.length}`);

    assert.deepEqual(problems, [], `page problems: ${problems.join('; ')}`);
  } finally {
    await close();
    await stopAllServers();
    fs.rmSync(state, { recursive: true, force: true });
  }
});

// The admin page and a listener page in one browser (two tabs). Resolves to what the tests need.
async function adminAndListener(base) {
  const b = await launchBrowser({ viewport: { width: 1280, height: 900 }, env: pulse.env });
  const listener = b.page;
  const admin = await b.ctx.newPage();
  const lp = watchPage(listener), ap = watchPage(admin);
  await play(listener, `${base}/`);
  const id = await listener.evaluate(() => window.loopcast.session);
  await admin.goto(`${base}/admin`);
  await admin.fill('#token', TOKEN);
  await admin.click('#login button[type=submit]');
  await admin.waitForSelector(`tr[data-id="${id}"] .state.on`, { timeout: 5000 });
  return { ...b, listener, admin, id, row: `tr[data-id="${id}"]`,
    problems: () => [...lp.map((p) => `listener ${p}`), ...ap.map((p) => `admin ${p}`)] };
}

async function createRoom(admin, base, name) {
  await admin.fill('#room-name', name);
  await admin.click('#new-room button[type=submit]');
  const g = await until(async () => (await api(base, 'GET', 'groups')).body.groups.find((x) => x.name === name), `room ${name} in the API`);
  await admin.waitForSelector(`article.room[data-id="${g.id}"]`, { timeout: 3000 });
  return g;
}

test('/admin: move a listener, make a room, put it in with the Room select; the page follows the room', { timeout: 120000 }, async () => {
  const { base, state } = await roomsServer('loopcast-rooms-admin-', 'rooms-admin');
  const { listener, admin, id, row, problems, close } = await adminAndListener(base);
  try {
    // the row shows the listener's stream; its select moves it (PATCH {"stream"})
    assert.equal(await admin.inputValue(`${row} select.stream`), 'a');
    assert.deepEqual(await admin.$$eval(`${row} select.stream option`, (o) => o.map((x) => x.value)), ['a', 'b']);
    await admin.selectOption(`${row} select.stream`, 'b');
    await waitFor(listener, () => window.loopcast.stream === 'b', undefined, 2000, 'the page on b, moved from /admin');
    assert.equal((await apiSession(base, id)).stream, 'b');
    await sleep(1000);
    let s = await snapshot(listener);
    assert.ok(Math.abs(s.hz - 1000) <= s.binHz + 1e-9, `the page plays ${s.hz} Hz after the move to b`);

    // a room: created with its defaults, the listener put in it with the row's Room select
    const g = await createRoom(admin, base, 'Kitchen');
    assert.equal(g.stream, 'a', 'a new room plays the first stream');
    const card = `article.room[data-id="${g.id}"]`;
    assert.equal(await admin.inputValue(`${card} .room-name`), 'Kitchen');
    await admin.selectOption(`${row} select.room`, g.id);
    await until(async () => (await apiSession(base, id)).group === g.id, 'the session in the room (API)');
    await waitFor(listener, (gid) => window.loopcast.group === gid && window.loopcast.groupName === 'Kitchen',
      g.id, 2000, 'the page in the room');
    // in the room: the room's stream (a), the page's select disabled and saying why
    await waitFor(listener, () => window.loopcast.stream === 'a', undefined, 2000, 'the page on the room\'s stream a');
    assert.equal((await apiSession(base, id)).stream, 'a', 'the API\'s session hears its room\'s stream');
    assert.equal(await listener.evaluate(() => window.loopcast.streamDisabled), true, 'the page\'s stream select is disabled in a room');
    assert.match(await listener.textContent('#stream-hint'), /^set by the room Kitchen$/);
    assert.equal(await listener.textContent('#room'), 'Kitchen');
    await admin.waitForSelector(`${row} select.stream:disabled`, { timeout: 2000 });
    await admin.waitForSelector(`${card} .members li.chip[data-id="${id}"]`, { timeout: 2000 });
    // a grouped session's stream cannot be changed on its own
    const refused = await api(base, 'PATCH', `sessions/${id}`, { stream: 'b' });
    assert.equal(refused.status, 409, `PATCH stream of a grouped session: ${JSON.stringify(refused.body)}`);

    // the room's stream select: the page follows
    await admin.selectOption(`${card} select.stream`, 'b');
    await waitFor(listener, () => window.loopcast.stream === 'b', undefined, 2000, 'the page on b with its room');
    await admin.selectOption(`${card} select.stream`, 'a');
    await waitFor(listener, () => window.loopcast.stream === 'a', undefined, 2000, 'the page on a with its room');
    const p0 = (await snapshot(listener)).decoded;
    await sleep(1500);
    s = await snapshot(listener);
    assert.ok(s.decoded - p0 >= 45, `decoding goes on after the room's switches: ${p0} → ${s.decoded} in 1.5 s`);
    assert.ok(Math.abs(s.hz - 440) <= s.binHz + 1e-9, `the page plays ${s.hz} Hz on the room's stream a`);
    const full = await outputRms(listener);

    // the room's volume: own curve × the room's, (50/100)^3 = 0.125
    await admin.$eval(`${card} .volume`, (el) => { el.value = '50'; el.dispatchEvent(new Event('input', { bubbles: true })); });
    await until(async () => (await api(base, 'GET', `groups/${g.id}`)).body.volume === 50, 'room volume 50 in the API');
    await waitFor(listener, () => Math.abs(window.loopcast.gain - 0.125) < 1e-9, undefined, 2000, 'gain 0.125 at room volume 50');
    assert.equal(await listener.evaluate(() => window.loopcast.volume), 100, 'the listener\'s own volume is untouched');
    await sleep(300);
    const half = await outputRms(listener);
    console.log(`output RMS: ${full.toFixed(4)} at room volume 100, ${half.toFixed(4)} at 50 (expected ×0.125)`);
    assert.ok(Math.abs(full - FULL_RMS) < 0.08, `RMS ${full} at full volume`);
    assert.ok(half > full * 0.125 * 0.6 && half < full * 0.125 * 1.5, `RMS ${half} at room volume 50, expected ≈ ${full * 0.125}`);

    // the room's mute silences the page; unmuted, the room's volume is back
    await admin.click(`${card} .mute`);
    await waitFor(listener, () => window.loopcast.gain === 0, undefined, 2000, 'gain 0 with the room muted');
    assert.match(await listener.textContent('#room'), /muted/);
    await admin.click(`${card} .mute`);
    await waitFor(listener, () => Math.abs(window.loopcast.gain - 0.125) < 1e-9, undefined, 2000, 'gain back with the room unmuted');

    // in step: a new room is (sync true, 250 ms); the page plays at that delay (its latency, capture
    // to leaving the output, is the delay; its buffer is what the delay leaves after the path)
    const inStep = (D) => Math.abs(window.loopcast.latencyMs - D) < 25 && window.loopcast.syncErrorMs !== null &&
      Math.abs(window.loopcast.syncErrorMs) < 15;
    assert.equal(await listener.evaluate(() => window.loopcast.syncMs), 250, 'the room\'s delay on the page');
    await waitFor(listener, inStep, 250, 10000, 'the page playing at 250 ms (in step)');
    const settled = async (D) => {
      await sleep(2000);
      const x = await listener.evaluate(() => ({ latencyMs: window.loopcast.latencyMs, syncErrorMs: window.loopcast.syncErrorMs }));
      console.log(`sync ${D} ms: ${JSON.stringify(x)}`);
      assert.ok(Math.abs(x.latencyMs - D) < 10 && Math.abs(x.syncErrorMs) < 10, `not in step at ${D} ms: ${JSON.stringify(x)}`);
    };
    await settled(250);
    // the delay changed at run time: 400 ms
    await admin.fill(`${card} .sync-delay`, '400');
    await admin.press(`${card} .sync-delay`, 'Enter');
    await admin.$eval(`${card} .sync-delay`, (el) => el.dispatchEvent(new Event('change', { bubbles: true })));
    await until(async () => (await api(base, 'GET', `groups/${g.id}`)).body.sync_delay_ms === 400, 'delay 400 in the API');
    await waitFor(listener, () => window.loopcast.syncMs === 400, undefined, 2000, 'the page told 400 ms');
    let t0 = Date.now();
    await waitFor(listener, inStep, 400, 10000, 'the page playing at 400 ms (in step)');
    console.log(`400 ms: in step after ${Date.now() - t0} ms`);
    await settled(400);
    // out of step: back to playing as early as it can
    await admin.click(`${card} .sync`);
    await until(async () => (await api(base, 'GET', `groups/${g.id}`)).body.sync === false, 'sync off in the API');
    await waitFor(listener, () => window.loopcast.syncMs === 0, undefined, 2000, 'the page told 0 ms');
    t0 = Date.now();
    await waitFor(listener, () => window.loopcast.syncErrorMs === null && window.loopcast.latencyMs < 150,
      undefined, 20000, 'the page back to playing as early as it can');
    console.log(`out of step: latency under 150 ms after ${Date.now() - t0} ms: ${JSON.stringify(await listener.evaluate(() =>
      ({ latencyMs: window.loopcast.latencyMs, targetMs: window.loopcast.targetMs, bufferMs: window.loopcast.bufferMs })))}`);

    // the room deleted: the page is free again
    admin.once('dialog', (d) => d.accept());
    await admin.click(`${card} .delete`);
    await waitFor(listener, () => window.loopcast.group === null && window.loopcast.gain === 1 &&
      !window.loopcast.streamDisabled, undefined, 2000, 'the page out of the deleted room');
    await admin.waitForSelector(card, { state: 'detached', timeout: 2000 });
    assert.deepEqual((await api(base, 'GET', 'groups')).body.groups, []);
    const after = await apiSession(base, id);
    assert.equal(after.group, null);
    assert.equal(await admin.inputValue(`${row} select.room`), '');
    assert.equal(await admin.isEnabled(`${row} select.stream`), true);
    assert.equal(await listener.isHidden('#room-row'), true);
    await listener.screenshot({ path: path.join(OUT, 'rooms-listener.png') }).catch(() => {});
    const p = problems();
    assert.deepEqual(p, [], `page problems: ${p.join('; ')}`);
  } finally {
    await close();
    await stopAllServers();
    fs.rmSync(state, { recursive: true, force: true });
  }
});

test('/admin: drag a listener onto a room, and onto Ungrouped', { timeout: 90000 }, async () => {
  const { base, state } = await roomsServer('loopcast-rooms-dnd-', 'rooms-dnd');
  const { listener, admin, id, row, problems, close } = await adminAndListener(base);
  try {
    const g = await createRoom(admin, base, 'Porch');
    const other = await createRoom(admin, base, 'Attic');
    const card = `article.room[data-id="${g.id}"]`;
    // from the table's grip onto the room
    await admin.locator(`${row} .grip`).dragTo(admin.locator(card));
    await until(async () => (await apiSession(base, id)).group === g.id, 'the session in Porch after the drag');
    await waitFor(listener, (gid) => window.loopcast.group === gid, g.id, 2000, 'the page in Porch');
    const chip = `${card} .members li.chip[data-id="${id}"]`;
    await admin.waitForSelector(chip, { timeout: 2000 });
    // from one room to the other: the server moves it (a session is in one room at most)
    await admin.locator(chip).dragTo(admin.locator(`article.room[data-id="${other.id}"]`));
    await until(async () => (await apiSession(base, id)).group === other.id, 'the session in Attic after the drag');
    await until(async () => (await api(base, 'GET', `groups/${g.id}`)).body.sessions.length === 0, 'Porch empty');
    // out of it onto Ungrouped
    await admin.locator(`article.room[data-id="${other.id}"] li.chip[data-id="${id}"]`).dragTo(admin.locator('#ungrouped'));
    await until(async () => (await apiSession(base, id)).group === null, 'the session out of its room after the drag');
    await waitFor(listener, () => window.loopcast.group === null, undefined, 2000, 'the page out of its room');
    await admin.waitForSelector(`#ungrouped li.chip[data-id="${id}"]`, { timeout: 2000 });
    await admin.screenshot({ path: path.join(OUT, 'rooms-admin.png'), fullPage: true }).catch(() => {});
    const p = problems();
    assert.deepEqual(p, [], `page problems: ${p.join('; ')}`);
  } finally {
    await close();
    await stopAllServers();
    fs.rmSync(state, { recursive: true, force: true });
  }
});
