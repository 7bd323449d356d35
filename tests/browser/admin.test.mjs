// admin.test.mjs — /admin in headless Chromium against the real server.
//   node --test tests/browser/admin.test.mjs
// The page asks for the token once (kept in the tab), lists sessions live from the events socket
// (a listener connecting appears, a change through the API shows up), and its controls change
// sessions through the API: volume, mute, rename, forget. And it shows a QR code per LAN URL of
// the listener page, each decoded by a real decoder (zbarimg) from what Chromium drew.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import { REPO, OUT, freePort, startServer, stopAllServers, launchBrowser, watchPage, sleep } from './harness.mjs';

const require = createRequire(path.join(REPO, 'tests', 'package.json'));
const WebSocket = require('ws');
const TOKEN = 'admin-test-token-0123456789';

after(stopAllServers);

async function api(base, method, p, body) {
  const r = await fetch(`${base}/api/v1/${p}`, {
    method, headers: { Authorization: `Bearer ${TOKEN}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: r.status, body: r.status === 204 ? null : await r.json() };
}

async function until(fn, what, ms = 4000) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) { last = await fn(); if (last) return last; await sleep(100); }
  throw new Error(`timed out waiting for ${what}`);
}

test('admin page: token once, live sessions, controls', async () => {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const state = fs.mkdtempSync(path.join(os.tmpdir(), 'loopcast-admin-'));
  await startServer(['--source', 'tone:440', '--bind', '127.0.0.1', '--port', String(port),
    '--state-dir', state, '--api-token', TOKEN], { logName: 'admin-test' });
  const { page, close } = await launchBrowser({ viewport: { width: 1280, height: 800 } });
  const problems = watchPage(page);
  let listener;
  try {
    await page.goto(`${base}/admin`);
    await page.waitForSelector('#login:not([hidden])');
    // a wrong token is refused and asked for again
    await page.fill('#token', 'wrong');
    await page.click('#login button[type=submit]');
    await page.waitForFunction(() => /refused/.test(document.querySelector('#login-error').textContent), null, { timeout: 5000 });
    await page.fill('#token', TOKEN);
    await page.click('#login button[type=submit]');
    await page.waitForFunction(() => /live/.test(document.querySelector('#status').textContent), null, { timeout: 5000 });

    // a listener connects → its row appears live
    const hello = await new Promise((resolve, reject) => {
      listener = new WebSocket(`ws://127.0.0.1:${port}/stream`, 'loopcast.v1');
      listener.on('message', (d, bin) => { if (!bin) resolve(JSON.parse(d.toString())); });
      listener.on('error', reject);
    });
    const id = hello.session.id;
    const row = `tr[data-id="${id}"]`;
    await page.waitForSelector(`${row} .state.on`, { timeout: 3000 });

    // the page's figures (its stats: delay, and with --sync-ms how far off the delay it plays)
    listener.send(JSON.stringify({ type: 'stats', latency_ms: 251, sync_error_ms: -1.4 }));
    await sleep(100);

    // API → admin page, live (the row comes back with the figures above)
    await api(base, 'PATCH', `sessions/${id}`, { name: 'Kitchen', volume: 64 });
    await page.waitForFunction((sel) => document.querySelector(`${sel} .vol`).textContent === '64' &&
      document.querySelector(`${sel} .name`).value === 'Kitchen', row, { timeout: 2000 });
    assert.equal(await page.textContent(`${row} .delay`), '251 ms (−1 ms off sync)', 'the delay column');

    // admin page → API: volume slider, mute, rename
    await page.$eval(`${row} .volume`, (el) => { el.value = '23'; el.dispatchEvent(new Event('input', { bubbles: true })); });
    await until(async () => (await api(base, 'GET', `sessions/${id}`)).body.volume === 23, 'volume 23 from the admin slider');
    await page.click(`${row} .mute`);
    await until(async () => (await api(base, 'GET', `sessions/${id}`)).body.muted === true, 'muted from the admin page');
    await page.fill(`${row} .name`, 'Bedroom');
    await page.press(`${row} .name`, 'Enter');
    await page.$eval(`${row} .name`, (el) => el.dispatchEvent(new Event('change', { bubbles: true })));
    await until(async () => (await api(base, 'GET', `sessions/${id}`)).body.name === 'Bedroom', 'renamed from the admin page');

    // the token is kept in the tab: a reload does not ask again
    await page.reload();
    await page.waitForSelector(`${row}`, { timeout: 5000 });
    assert.equal(await page.isVisible('#login'), false, 'asked for the token again after reload');

    // forget: the listener is disconnected with 1008 and the row disappears
    const closed = new Promise((resolve) => listener.on('close', (code) => resolve(code)));
    page.once('dialog', (d) => d.accept());
    await page.click(`${row} .forget`);
    assert.equal(await Promise.race([closed, sleep(3000).then(() => 'timeout')]), 1008, 'listener close code');
    await page.waitForSelector(row, { state: 'detached', timeout: 3000 });
    assert.equal((await api(base, 'GET', `sessions/${id}`)).status, 404);
    await page.screenshot({ path: path.join(REPO, 'tests', 'browser', 'out', 'admin.png') }).catch(() => {});
    const real = problems.filter((p) => !/401|Unauthorized/.test(p)); // the wrong-token attempt logs a 401
    assert.deepEqual(real, [], `page problems: ${real.join('; ')}`);
  } finally {
    if (listener) listener.terminate();
    await close();
    await stopAllServers();
    fs.rmSync(state, { recursive: true, force: true });
  }
});

test('admin page: a QR code per LAN URL, each decoding to its URL', async () => {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const state = fs.mkdtempSync(path.join(os.tmpdir(), 'loopcast-admin-qr-'));
  const logFile = path.join(OUT, 'admin-qr.log');
  fs.rmSync(logFile, { force: true });
  // every interface (no --bind): the LAN URLs are this machine's non-loopback addresses
  await startServer(['--source', 'tone:440', '--port', String(port), '--state-dir', state,
    '--api-token', TOKEN], { logName: 'admin-qr' });
  const { page, close } = await launchBrowser({ viewport: { width: 1280, height: 900 } });
  const problems = watchPage(page);
  try {
    // what the server printed at start-up, loopback left out: the page must show exactly these
    const want = [...fs.readFileSync(logFile, 'utf8').matchAll(/listener page: (\S+) /g)]
      .map((m) => m[1]).filter((u) => !u.startsWith('http://127.'));
    assert.ok(want.length > 0, 'this machine has no non-loopback IPv4 address: the test needs one');
    await page.goto(`${base}/admin`);
    await page.fill('#token', TOKEN);
    await page.click('#login button[type=submit]');
    await page.waitForSelector('#join:not([hidden]) figure img', { timeout: 5000 });
    await page.waitForFunction(() => [...document.querySelectorAll('#join img')].every((i) => i.complete && i.naturalWidth > 0),
      null, { timeout: 5000 });
    const shown = await page.$$eval('#join figure', (figs) => figs.map((f) => ({
      img: f.querySelector('img')?.dataset.url, link: f.querySelector('figcaption a')?.textContent })));
    assert.deepEqual(shown.map((s) => s.img), want, 'one QR image per LAN URL, in the log\'s order');
    assert.deepEqual(shown.map((s) => s.link), want, 'each code captioned with its URL');
    const imgs = await page.$$('#join figure img');
    for (let i = 0; i < imgs.length; i++) {
      const png = path.join(OUT, `admin-qr-${i}.png`);
      await imgs[i].screenshot({ path: png });
      const got = execFileSync('zbarimg', ['-q', '--raw', png], { encoding: 'utf8' }).trim();
      assert.equal(got, want[i], `the QR code shown for ${want[i]} decodes to ${got}`);
    }
    assert.deepEqual(problems, [], `page problems (CSP included): ${problems.join('; ')}`);
  } finally {
    await close();
    await stopAllServers();
    fs.rmSync(state, { recursive: true, force: true });
  }
});
