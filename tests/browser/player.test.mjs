// player.test.mjs — the listener page against the real loopcast binary in headless Chromium.
//   node --test tests/browser/player.test.mjs     (LOOPCAST_BIN=... to pick the binary)
// 1. WebCodecs + AudioWorklet (http://127.0.0.1 is a secure context);
// 2. the insecure-context fallback (WASM opus-decoder + scheduled AudioBufferSourceNodes), made
//    by deleting AudioDecoder / AudioWorkletNode / EncodedAudioChunk before the page loads;
// 3. the server stops mid-play and comes back on the same port: the page reconnects by itself.
// Each plays tone:1000 and checks, once a second for 12 s: packets decoded keep increasing, the
// output's dominant frequency is 1000 Hz ± 1 analyser bin, no underrun after the first 3 s,
// buffer near its target, a latency figure. Screenshots go to tests/browser/out/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import {
  OUT, freePort, startServer, stopServer, stopAllServers, launchBrowser, watchPage, watchStalls,
  snapshot, waitFor, sleep, loopcastBin, checkSteadyPlay as checkPlay,
} from './harness.mjs';

const TONE = 1000;
// The pages run at the player's default jitter floor (no ?floor=): the jitter estimator is what
// has to cope with a loaded machine's stalls. The page's main-thread stalls are measured
// (watchStalls) and printed with the samples, so an underrun comes with the stall behind it.
const SETTLE_MS = 3000;
const SAMPLE_S = 12;
const checkSteadyPlay = (page, label) =>
  checkPlay(page, label, { tone: TONE, settleMs: SETTLE_MS, sampleS: SAMPLE_S });

function serverArgs(port) {
  return ['--source', `tone:${TONE}`, '--bind', '127.0.0.1', '--port', String(port)];
}

async function startPlaying(page, url) {
  await page.goto(url);
  await page.click('#play');
  await waitFor(page, () => window.loopcast.state === 'connected' && window.loopcast.decoded > 10,
    undefined, 15000, 'connected and decoding');
}

test('binary is there (a missing binary fails, it does not skip)', () => {
  loopcastBin();
});

test('WebCodecs + AudioWorklet: plays the tone steadily', { timeout: 90000 }, async () => {
  const port = await freePort();
  const srv = await startServer(serverArgs(port), { logName: 'webcodecs' });
  const b = await launchBrowser({ viewport: { width: 390, height: 844 } });
  try {
    const problems = watchPage(b.page);
    await watchStalls(b.page);
    // The page itself: no inline script or style (the server's CSP forbids them).
    const html = await (await fetch(`http://127.0.0.1:${port}/`)).text();
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/i, 'inline <script>');
    assert.doesNotMatch(html, /\sstyle\s*=|<style/i, 'inline style');
    await startPlaying(b.page, `http://127.0.0.1:${port}/`);
    const s = await snapshot(b.page);
    assert.equal(s.decoder, 'webcodecs');
    assert.equal(s.output, 'worklet');
    await checkSteadyPlay(b.page, 'webcodecs+worklet');
    await b.page.screenshot({ path: path.join(OUT, 'player-phone.png') });
    await b.page.setViewportSize({ width: 1280, height: 800 });
    await sleep(300);
    await b.page.screenshot({ path: path.join(OUT, 'player-desktop.png') });
    // The lock screen (Media Session): title, the page's icon, playing; its buttons act like ours
    const ms = await b.page.evaluate(() => window.loopcast.mediaSession);
    console.log(`media session while playing: ${JSON.stringify(ms)}`);
    assert.equal(ms.playbackState, 'playing');
    const host = os.hostname().split('.')[0];
    assert.equal(ms.title, `loopcast on ${host || '127.0.0.1'}`, 'titled with the server\'s host name');
    assert.ok(ms.artwork.length === 1 && ms.artwork[0].endsWith('/icon.svg'), `artwork ${ms.artwork}`);
    assert.deepEqual(ms.actions, ['play', 'pause', 'stop']);
    await b.page.evaluate(() => window.loopcast.mediaAction('pause'));
    await waitFor(b.page, () => window.loopcast.state === 'stopped' &&
      window.loopcast.mediaSession.playbackState === 'paused', undefined, 3000, 'paused from the lock screen');
    await b.page.evaluate(() => window.loopcast.mediaAction('play'));
    await waitFor(b.page, (d) => window.loopcast.state === 'connected' && window.loopcast.decoded > d + 25 &&
      window.loopcast.mediaSession.playbackState === 'playing', (await snapshot(b.page)).decoded, 10000,
      'playing again from the lock screen');
    // Stop really stops.
    await b.page.click('#play');
    await waitFor(b.page, () => window.loopcast.state === 'stopped', undefined, 3000, 'stopped');
    const p0 = (await snapshot(b.page)).packets;
    await sleep(1000);
    assert.equal((await snapshot(b.page)).packets, p0, 'packets still arriving after Stop');
    assert.equal(await b.page.evaluate(() => window.loopcast.mediaSession.playbackState), 'paused');
    assert.deepEqual(problems, [], 'console errors / CSP violations');
  } finally {
    await b.close();
    await stopServer(srv);
  }
});

test('Add to Home Screen: the manifest parses and Chromium finds the page installable', { timeout: 60000 }, async () => {
  const port = await freePort();
  const srv = await startServer(serverArgs(port), { logName: 'manifest' });
  const b = await launchBrowser();
  try {
    const problems = watchPage(b.page);
    await b.page.goto(`http://127.0.0.1:${port}/`);
    const r = await b.page.evaluate(async () => {
      const res = await fetch('manifest.webmanifest');
      return { type: res.headers.get('content-type'), body: await res.json() };
    });
    assert.match(r.type, /^application\/manifest\+json/);
    assert.equal(r.body.name, 'loopcast');
    assert.equal(r.body.display, 'standalone');
    const cdp = await b.ctx.newCDPSession(b.page);
    const m = await cdp.send('Page.getAppManifest');
    assert.deepEqual(m.errors, [], `manifest errors: ${JSON.stringify(m.errors)}`);
    const inst = await cdp.send('Page.getInstallabilityErrors');
    assert.deepEqual(inst.installabilityErrors, [], `installability: ${JSON.stringify(inst.installabilityErrors)}`);
    assert.deepEqual(problems, [], 'console errors / CSP violations');
  } finally {
    await b.close();
    await stopServer(srv);
  }
});

test('fallback (insecure-context path): WASM decoder + AudioBufferSourceNodes', { timeout: 90000 }, async () => {
  const port = await freePort();
  const srv = await startServer(serverArgs(port), { logName: 'fallback' });
  const b = await launchBrowser({ viewport: { width: 390, height: 844 } });
  try {
    const problems = watchPage(b.page);
    await watchStalls(b.page);
    await b.page.addInitScript(() => {
      delete window.AudioDecoder;
      delete window.AudioWorkletNode;
      delete window.EncodedAudioChunk;
    });
    await startPlaying(b.page, `http://127.0.0.1:${port}/`);
    const s = await snapshot(b.page);
    assert.equal(s.decoder, 'wasm');
    assert.equal(s.output, 'buffers');
    await checkSteadyPlay(b.page, 'wasm+buffers');
    await b.page.screenshot({ path: path.join(OUT, 'player-fallback-phone.png') });
    assert.deepEqual(problems, [], 'console errors / CSP violations');
  } finally {
    await b.close();
    await stopServer(srv);
  }
});

test('server restart mid-play: the page reconnects by itself and plays again', { timeout: 90000 }, async () => {
  const port = await freePort();
  let srv = await startServer(serverArgs(port), { logName: 'restart-1' });
  const b = await launchBrowser();
  try {
    await startPlaying(b.page, `http://127.0.0.1:${port}/`);
    await sleep(2000);
    const before = await snapshot(b.page);
    assert.ok(Math.abs(before.hz - TONE) <= before.binHz + 1e-9, `before restart: ${before.hz} Hz`);
    assert.ok(before.session, 'session GUID kept after hello');
    await stopServer(srv);
    await waitFor(b.page, () => window.loopcast.state === 'reconnecting', undefined, 5000, 'reconnecting state');
    await sleep(1500);                                   // a few failed attempts while it is down
    srv = await startServer(serverArgs(port), { logName: 'restart-2' });
    await waitFor(b.page, (r) => window.loopcast.state === 'connected' && window.loopcast.reconnects > r,
      before.reconnects, 15000, 'reconnected');
    const d0 = (await snapshot(b.page)).decoded;
    await sleep(3000);
    const after = await snapshot(b.page);
    console.log(`restart: before ${JSON.stringify(before)}\n  after ${JSON.stringify(after)}`);
    assert.ok(after.decoded - d0 >= 100, `decoded ${d0} → ${after.decoded} in 3 s after reconnecting`);
    assert.ok(Math.abs(after.hz - TONE) <= after.binHz + 1e-9, `after restart: ${after.hz} Hz`);
    assert.ok(after.rms > 0.05, `after restart: level ${after.rms}`);
    assert.equal(after.session, before.session, 'the page kept its session GUID');
  } finally {
    await b.close();
    await stopServer(srv);
    await stopAllServers();
  }
});
