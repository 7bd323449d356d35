// ogg.test.mjs — /stream.ogg in Chromium's own media stack (issue 15): an <audio> element whose
// src is the server's /stream.ogg?stream=b plays into a private PulseAudio null sink, and what
// the sink plays is recorded: the stream's 1000 Hz tone, with no gap once it plays. This is what
// a media player or a casting device does with the URL (no page script, no WebSocket).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, startServer, stopAllServers, launchBrowser, sleep } from './harness.mjs';
import { startPulse, analyseTone } from './pulse.mjs';

let pulse;
before(async () => { pulse = await startPulse(); });
after(async () => { await stopAllServers(); if (pulse) pulse.stop(); });

test('<audio src="/stream.ogg?stream=b"> plays the stream\'s tone into the sink', { timeout: 60000 }, async () => {
  const port = await freePort();
  const state = fs.mkdtempSync(path.join(os.tmpdir(), 'loopcast-ogg-'));
  await startServer(['--stream', 'a=tone:440', '--stream', 'b=tone:1000', '--bind', '127.0.0.1',
    '--port', String(port), '--state-dir', state], { logName: 'ogg' });
  const { page, close } = await launchBrowser({ env: pulse.env });
  try {
    // any page of the server: the element is same-origin, as the CSP (default-src 'self') wants
    await page.goto(`http://127.0.0.1:${port}/healthz`);
    const started = await page.evaluate(async () => {
      const a = document.createElement('audio');
      a.src = '/stream.ogg?stream=b';
      document.body.append(a);
      window.oggAudio = a;
      await a.play();
      return true;
    });
    assert.ok(started);
    await page.waitForFunction(() => window.oggAudio.currentTime > 1, undefined, { timeout: 15000 });
    const rec = analyseTone(await pulse.record(3000));
    const st = await page.evaluate(() => ({ t: window.oggAudio.currentTime, paused: window.oggAudio.paused,
      error: window.oggAudio.error && window.oggAudio.error.message, ready: window.oggAudio.readyState }));
    console.log(`recorded ${rec.seconds.toFixed(2)} s: ${rec.hz.toFixed(1)} Hz, level ${rec.level.toFixed(3)}, ` +
      `gaps ${JSON.stringify(rec.gaps)}; element ${JSON.stringify(st)}`);
    assert.ok(!st.paused && !st.error, `the element plays: ${JSON.stringify(st)}`);
    assert.ok(Math.abs(rec.hz - 1000) < 5, `heard ${rec.hz.toFixed(1)} Hz, not stream b's 1000 Hz`);
    assert.ok(rec.seconds > 2.5 && rec.level > 0.05, `heard ${rec.seconds} s at level ${rec.level}`);
    assert.deepEqual(rec.gaps, [], 'no gap at the sink');
  } finally {
    await close();
    fs.rmSync(state, { recursive: true, force: true });
  }
});
