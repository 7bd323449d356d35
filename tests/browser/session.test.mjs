// session.test.mjs — the listener page bound to its server-side session, in headless Chromium.
//   node --test tests/browser/session.test.mjs     (LOOPCAST_BIN=... to pick the binary)
// API → page: a PATCH of volume moves the page's slider and scales its output level by the
// perceptual curve (gain = (v/100)^3); a PATCH of muted stops the audio packets (the server
// enforces mute) and silences the output; unmute brings both back.
// Page → server: moving the page's slider and pressing its mute change the session the API shows,
// and a reload of the page gets the same settings back from the server before audio starts.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  freePort, startServer, stopAllServers, launchBrowser, watchPage, snapshot, waitFor, sleep,
} from './harness.mjs';

const TOKEN = 'browser-test-token-0123456789';
const FULL_RMS = 0.3536; // tone:1000 at amplitude 0.5, volume 100

after(stopAllServers);

async function api(base, method, id, body) {
  const r = await fetch(`${base}/api/v1/sessions/${id}`, {
    method,
    headers: { Authorization: `Bearer ${TOKEN}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  assert.ok(r.ok, `${method} ${id}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

async function pollApi(base, id, pred, what, timeoutMs = 3000) {
  const end = Date.now() + timeoutMs;
  let s;
  while (Date.now() < end) {
    s = await api(base, 'GET', id);
    if (pred(s)) return s;
    await sleep(100);
  }
  throw new Error(`API never showed ${what}: ${JSON.stringify(s)}`);
}

// Median RMS of the page's output over ~1 s (the analyser follows the volume GainNode).
async function outputRms(page) {
  const v = [];
  for (let i = 0; i < 8; i++) { v.push((await snapshot(page)).rms); await sleep(120); }
  v.sort((a, b) => a - b);
  return v[4];
}

test('the page follows its session through the API, and changes it', async () => {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const state = fs.mkdtempSync(path.join(os.tmpdir(), 'loopcast-state-'));
  await startServer(['--source', 'tone:1000', '--bind', '127.0.0.1', '--port', String(port),
    '--state-dir', state, '--api-token', TOKEN], { logName: 'session-test' });
  const { page, close } = await launchBrowser();
  const problems = watchPage(page);
  try {
    await page.goto(`${base}/`);
    await page.click('#play');
    await waitFor(page, () => window.loopcast.state === 'connected' && window.loopcast.decoded > 25,
      undefined, 15000, 'playing');
    const id = await page.evaluate(() => window.loopcast.session);
    assert.match(id, /^[0-9a-f-]{36}$/);
    await sleep(1500);
    const full = await outputRms(page);
    assert.ok(Math.abs(full - FULL_RMS) < 0.08, `full-volume output RMS ${full}`);

    // API → page: volume
    let t0 = Date.now();
    await api(base, 'PATCH', id, { volume: 30 });
    await waitFor(page, () => window.loopcast.sliderValue === 30 && window.loopcast.volume === 30,
      undefined, 2000, 'slider at 30');
    console.log(`volume 30 reached the page's slider in ${Date.now() - t0} ms`);
    await sleep(600);
    const low = await outputRms(page);
    const expect = FULL_RMS * 0.3 ** 3;
    console.log(`output RMS at volume 30: ${low.toFixed(4)} (expected ${expect.toFixed(4)})`);
    assert.ok(low > expect * 0.6 && low < expect * 1.5, `RMS ${low} at volume 30, expected ≈ ${expect}`);

    // API → page: mute is enforced by the server (no packets) and heard as silence
    await api(base, 'PATCH', id, { muted: true });
    await waitFor(page, () => window.loopcast.muted === true, undefined, 2000, 'muted');
    await sleep(500);
    const p0 = (await snapshot(page)).packets;
    await sleep(1500);
    const p1 = (await snapshot(page)).packets;
    assert.ok(p1 - p0 <= 1, `a muted session still received ${p1 - p0} packets in 1.5 s`);
    assert.ok((await snapshot(page)).rms < 1e-3, 'muted output is not silent');
    assert.equal((await snapshot(page)).state, 'connected', 'muted page must stay connected');

    await api(base, 'PATCH', id, { muted: false, volume: 100 });
    await waitFor(page, (p) => !window.loopcast.muted && window.loopcast.packets > p + 25, p1, 4000,
      'audio again after unmute');
    await sleep(800);
    const back = await outputRms(page);
    assert.ok(back > FULL_RMS * 0.7, `output RMS ${back} after unmute at volume 100`);

    // page → server: the slider and the mute button change the session
    await page.$eval('#volume', (el) => { el.value = '55'; el.dispatchEvent(new Event('input', { bubbles: true })); });
    await pollApi(base, id, (s) => s.volume === 55, 'volume 55 set by the page');
    await page.click('#mute');
    await pollApi(base, id, (s) => s.muted === true, 'muted by the page');

    // a reload gets the stored settings back from the server (not from this page's memory)
    await page.evaluate(() => { localStorage.removeItem('loopcast.volume'); localStorage.removeItem('loopcast.muted'); });
    await page.reload();
    await page.click('#play');
    await waitFor(page, () => window.loopcast.state === 'connected' && window.loopcast.volume === 55 &&
      window.loopcast.muted === true, undefined, 15000, 'settings restored after reload');
    assert.equal(await page.evaluate(() => window.loopcast.session), id, 'same session after reload');
    assert.deepEqual(problems, [], `page problems: ${problems.join('; ')}`);
  } finally {
    await close();
    await stopAllServers();
    fs.rmSync(state, { recursive: true, force: true });
  }
});
