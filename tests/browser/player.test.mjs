// player.test.mjs — the listener page against the real loopcast binary in headless Chromium,
// playing into a real sound server (a private PulseAudio null sink, pulse.mjs), whose monitor is
// recorded: what the speakers would play.
//   node --test tests/browser/player.test.mjs     (LOOPCAST_BIN=... to pick the binary)
// 1. WebCodecs + AudioWorklet (http://127.0.0.1 is a secure context), decoding in the Worker;
// 2. the plain-HTTP path for real: the page opened by a name (http://loopcast.test:PORT/, mapped
//    to 127.0.0.1 by --host-resolver-rules) is not a secure context: WASM decoder in the Worker +
//    scheduled AudioBufferSourceNodes, at the default 20 ms floor;
// 3. both paths on a busy page (a script blocks the main thread 40 ms every 250 ms);
// 4. the server stops mid-play and comes back on the same port: the page reconnects by itself.
// Each plays tone:1000 and checks, once a second: packets decoded keep increasing, the output's
// dominant frequency is 1000 Hz ± 1 analyser bin, no underrun (see checkSteadyPlay), buffer near
// its target, a latency figure; and the recording: 1000 Hz, no gap. Screenshots: tests/browser/out/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import {
  OUT, freePort, startServer, stopServer, stopAllServers, launchBrowser, watchPage, watchStalls,
  snapshot, waitFor, sleep, loopcastBin, checkSteadyPlay as checkPlay, makeBusy,
} from './harness.mjs';
import { startPulse, analyseTone } from './pulse.mjs';

let pulse;
before(async () => { pulse = await startPulse(); });
after(() => { if (pulse) pulse.stop(); });
const browser = (opts = {}) => launchBrowser({ ...opts, env: { ...(opts.env || {}), ...pulse.env } });

// Records `ms` at the sink and checks what a listener would hear: the tone, at a real level, with
// no gap (an underrun's fade to silence or a skipped buffer shows as ≥ 5 ms of quiet). Printed.
// `gapless: false` (the <audio> route only) prints the gaps instead of failing on them, and takes
// the tone within `hzTol`.
async function checkRecording(label, ms = 5000, opts = {}) {
  return judgeRecording(label, ms, analyseTone(await pulse.record(ms)), opts);
}

function judgeRecording(label, ms, a, { gapless = true, hzTol = 3 } = {}) {
  const gapMs = a.gaps.reduce((x, g) => x + g.ms, 0);
  console.log(`${label}: recorded ${a.seconds.toFixed(2)} s at the sink: ${a.hz.toFixed(1)} Hz, level ${a.level.toFixed(3)}, ` +
    `${a.gaps.length} gaps (${gapMs} ms) ${JSON.stringify(a.gaps)}`);
  assert.ok(a.seconds > ms / 1000 - 1, `${label}: only ${a.seconds} s recorded (nothing played?)`);
  if (gapless) assert.deepEqual(a.gaps, [], `${label}: gaps in what the sink played`);
  else assert.ok(gapMs < 0.5 * ms, `${label}: silent for ${gapMs} of ${ms} ms`);
  assert.ok(Math.abs(a.hz - TONE) < hzTol, `${label}: the sink played ${a.hz} Hz, expected ${TONE} ± ${hzTol}`);
  assert.ok(a.level > 0.05, `${label}: level ${a.level} at the sink`);
  return a;
}

// The plain-HTTP name: not a secure context, though it is 127.0.0.1 underneath.
const PLAIN = { args: ['--host-resolver-rules=MAP loopcast.test 127.0.0.1'] };
const plainUrl = (port) => `http://loopcast.test:${port}/`;

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
  const b = await browser({ viewport: { width: 390, height: 844 } });
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
    assert.equal(await b.page.evaluate(() => window.loopcast.worker), true, 'decoding runs in the Worker');
    await checkSteadyPlay(b.page, 'webcodecs+worklet');
    await checkRecording('webcodecs+worklet');
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
    assert.deepEqual(ms.artwork.map((u) => new URL(u).pathname), ['/icon-512.png', '/icon-192.png', '/icon.svg'], `artwork ${ms.artwork}`);
    for (const u of ms.artwork) {
      const r = await fetch(u.replace(/^http:\/\/[^/]+/, `http://127.0.0.1:${port}`));
      assert.ok(r.ok && /^image\//.test(r.headers.get('content-type')), `artwork ${u}: ${r.status} ${r.headers.get('content-type')}`);
    }
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
  const b = await browser();
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
    // iOS's Add to Home Screen takes the apple-touch-icon (a PNG), Android the manifest's PNGs
    const touch = await b.page.evaluate(() => document.querySelector('link[rel=apple-touch-icon]').href);
    const tr = await fetch(touch);
    assert.equal(tr.headers.get('content-type'), 'image/png', `${touch}`);
    const png = Buffer.from(await tr.arrayBuffer());
    assert.equal(png.readUInt32BE(16), 180, 'apple-touch-icon is 180 px wide');
    assert.ok(r.body.icons.some((i) => i.sizes === '512x512' && i.type === 'image/png'), 'a 512 px PNG icon');
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

// Phones: the audio leaves through an <audio> element (MediaStreamAudioDestinationNode), so the OS
// treats it as media and keeps it playing with the screen locked; forced here with ?route=element.
test('lock-screen route (<audio> element): plays at the sink, the Media Session follows it', { timeout: 90000 }, async () => {
  const port = await freePort();
  const srv = await startServer(serverArgs(port), { logName: 'route-element' });
  const b = await browser();
  try {
    const problems = watchPage(b.page);
    await startPlaying(b.page, `http://127.0.0.1:${port}/?route=element`);
    assert.equal(await b.page.evaluate(() => window.loopcast.route), 'element');
    assert.equal(await b.page.evaluate(() => document.getElementById('out').paused), false, 'the <audio> element plays');
    await sleep(3000);
    // Chromium renders a MediaStream into <audio> through a FIFO of its own, resampled to hold its
    // level: on the 2-core machine with other work running it ran dry every ~0.5 s (30–60 ms) and
    // played the 1 kHz tone at up to 1144 Hz; quiet, 0–1 gap per 5 s at 992–1000 Hz (docs/web.md).
    // This route is for phones' lock screens only: here it must carry the tone to the sink, and
    // its gaps and pitch are printed, not judged.
    await checkRecording('element route', 5000, { gapless: false, hzTol: 200 });
    const s = await snapshot(b.page);
    console.log(`element route: latency figure ${s.latencyMs?.toFixed(1)} ms, target ${s.targetMs?.toFixed(1)} ms, underruns ${s.underruns}`);
    assert.equal(await b.page.evaluate(() => window.loopcast.mediaSession.playbackState), 'playing');
    await b.page.evaluate(() => window.loopcast.mediaAction('pause'));
    await waitFor(b.page, () => window.loopcast.state === 'stopped' && document.getElementById('out').paused &&
      window.loopcast.mediaSession.playbackState === 'paused', undefined, 3000, 'paused from the lock screen');
    await sleep(300);
    const quiet = analyseTone(await pulse.record(1000));
    assert.ok(quiet.level < 0.01, `the sink still plays after pause (level ${quiet.level})`);
    await b.page.evaluate(() => window.loopcast.mediaAction('play'));
    await waitFor(b.page, () => window.loopcast.state === 'connected' && !document.getElementById('out').paused &&
      window.loopcast.mediaSession.playbackState === 'playing', undefined, 10000, 'playing again from the lock screen');
    await sleep(1500);
    const again = analyseTone(await pulse.record(1500));
    assert.ok(again.level > 0.05 && Math.abs(again.hz - TONE) < 10, `after play: ${again.hz} Hz at ${again.level}`);
    assert.deepEqual(problems, [], 'console errors / CSP violations');
  } finally {
    await b.close();
    await stopServer(srv);
  }
});

test('plain HTTP (a name, not a secure context): WASM in the Worker + AudioBuffers, at the default floor', { timeout: 90000 }, async () => {
  const port = await freePort();
  const srv = await startServer(serverArgs(port), { logName: 'plain-http' });
  const b = await browser({ viewport: { width: 390, height: 844 }, ...PLAIN });
  try {
    const problems = watchPage(b.page);
    await watchStalls(b.page);
    await startPlaying(b.page, plainUrl(port));
    assert.equal(await b.page.evaluate(() => window.isSecureContext), false, 'http://loopcast.test is not a secure context');
    const s = await snapshot(b.page);
    assert.equal(s.decoder, 'wasm');
    assert.equal(s.output, 'buffers');
    assert.equal(await b.page.evaluate(() => window.loopcast.worker), true, 'decoding runs in the Worker');
    await checkSteadyPlay(b.page, 'wasm+buffers');
    await checkRecording('wasm+buffers');
    await b.page.screenshot({ path: path.join(OUT, 'player-plain-http-phone.png') });
    assert.deepEqual(problems, [], 'console errors / CSP violations');
  } finally {
    await b.close();
    await stopServer(srv);
  }
});

// After the first 5 s (the estimator has seen the page's stalls): no underrun and no gap at the
// sink for 10 s, on both paths, with the page's main thread blocked 40 ms every 250 ms.
for (const [label, plain] of [['busy webcodecs+worklet', false], ['busy wasm+buffers', true]]) {
  test(`${label}: a page whose main thread is blocked 40 ms every 250 ms plays without a gap`, { timeout: 90000 }, async () => {
    const port = await freePort();
    const srv = await startServer(serverArgs(port), { logName: label.replace(/\W+/g, '-') });
    const b = await browser(plain ? PLAIN : {});
    try {
      const problems = watchPage(b.page);
      await watchStalls(b.page);
      await makeBusy(b.page);
      await startPlaying(b.page, plain ? plainUrl(port) : `http://127.0.0.1:${port}/`);
      assert.equal(await b.page.evaluate(() => window.loopcast.worker), true);
      await sleep(5000);
      const s0 = await snapshot(b.page);
      const rec = analyseTone(await pulse.record(10000));
      const s1 = await snapshot(b.page);
      const stalls = await b.page.evaluate(() => window.__loopcastStalls.length);
      console.log(`${label}: ${s0.output}/${s0.decoder}: underruns ${s0.underruns} → ${s1.underruns}, target ${s1.targetMs.toFixed(1)} ms, ` +
        `buffer ${s1.bufferMs.toFixed(1)} ms, latency ${s1.latencyMs?.toFixed(1)} ms, skips ${s0.corrections.skips} → ${s1.corrections.skips}, ` +
        `main-thread stalls seen ${stalls}; load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
      judgeRecording(label, 10000, rec);
      assert.ok(stalls >= 30, `${label}: the busy script did not block the page (${stalls} stalls)`);
      assert.equal(s1.underruns, s0.underruns, `${label}: underruns after the first 5 s`);
      assert.ok(s1.decoded - s0.decoded >= 450, `${label}: decoded ${s0.decoded} → ${s1.decoded} in 10 s`);
      assert.deepEqual(problems, [], 'console errors / CSP violations');
    } finally {
      await b.close();
      await stopServer(srv);
    }
  });
}

// Bad input: a browser with neither WebCodecs nor WebAssembly (nor, being plain HTTP, AudioWorklet)
// cannot decode: the page says so, and its stats tell the server (the API shows decoder 'none').
test('a browser that cannot decode Opus says so on the page and in its stats', { timeout: 60000 }, async () => {
  const port = await freePort();
  const token = 'player-test-token-0123456789';
  const srv = await startServer([...serverArgs(port), '--api-token', token], { logName: 'no-decoder' });
  const b = await browser(PLAIN);
  try {
    await b.page.addInitScript(() => { delete window.AudioDecoder; delete window.EncodedAudioChunk; delete window.WebAssembly; });
    await b.page.goto(plainUrl(port));
    await b.page.click('#play');
    await waitFor(b.page, () => window.loopcast.decoder === 'none' && window.loopcast.state === 'connected', undefined, 15000, 'decoder none');
    const msg = await b.page.textContent('#message');
    assert.match(msg, /no Opus decoder in this browser/, `the page says: ${msg}`);
    assert.equal(await b.page.isVisible('#message'), true);
    const id = await b.page.evaluate(() => window.loopcast.session);
    let sess;
    for (let i = 0; i < 40; i++) {           // stats go out every 2 s
      sess = await (await fetch(`http://127.0.0.1:${port}/api/v1/sessions/${id}`, { headers: { authorization: `Bearer ${token}` } })).json();
      if (sess.decoder) break;
      await sleep(250);
    }
    console.log(`no decoder: the page says "${msg}"; the API: decoder ${sess.decoder}, output ${sess.output}`);
    assert.equal(sess.decoder, 'none');
    assert.equal(sess.output, 'buffers');
  } finally {
    await b.close();
    await stopServer(srv);
  }
});

test('server restart mid-play: the page reconnects by itself and plays again', { timeout: 90000 }, async () => {
  const port = await freePort();
  let srv = await startServer(serverArgs(port), { logName: 'restart-1' });
  const b = await browser();
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
    // the latency figure comes back (the decoder restarts its timestamps with the new stream)
    assert.ok(Number.isFinite(after.latencyMs) && after.latencyMs > 0 && after.latencyMs < 1000,
      `after restart: latency figure ${after.latencyMs}`);
    assert.equal(after.session, before.session, 'the page kept its session GUID');
  } finally {
    await b.close();
    await stopServer(srv);
    await stopAllServers();
  }
});
