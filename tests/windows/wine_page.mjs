// wine_page.mjs URL TOKEN SINK CAPTURE — the listener page, served by loopcast.exe under Wine,
// in Linux's headless Chromium, heard the way a person would hear it:
//   1. the page plays (connected, decoding) with its output on PulseAudio sink SINK;
//   2. what the sink plays, recorded by the Linux loopcast-capture (CAPTURE, source
//      loopback:SINK) for 3 s, is the 1000 Hz tone the server captured, at a real level;
//   3. a PATCH of the session's volume through the API (with TOKEN) moves the page's slider.
// Called by wine_server_test.sh, which starts the server and the private PulseAudio (the
// environment leads Chromium to it). Prints ok/FAIL lines; exit status 0 only if all held.
import { execFile } from 'node:child_process';
import { launchBrowser, watchPage, waitFor, sleep } from '../browser/harness.mjs';

const [base, token, sink, capture] = process.argv.slice(2);
if (!base || !token || !sink || !capture) {
  console.error('usage: node wine_page.mjs URL TOKEN SINK CAPTURE_BIN');
  process.exit(2);
}
let failed = 0;
const check = (ok, what) => { console.log(`${ok ? 'ok:  ' : 'FAIL:'} ${what}`); if (!ok) failed++; };
const record = (seconds) => new Promise((resolve) => {
  execFile(capture, ['--seconds', String(seconds), '--report', `loopback:${sink}`], { timeout: 30000 },
    (err, stdout, stderr) => {
      const kv = Object.fromEntries(stdout.split('\n').filter((l) => l.includes('='))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
      resolve({ err: err ? `${err.message} ${stderr}` : null, hz: Number(kv.dominant_hz), rms: Number(kv.rms) });
    });
});

const { page, close } = await launchBrowser({ env: { PULSE_SINK: sink } });
const problems = watchPage(page);
try {
  await page.goto(`${base}/`);
  await page.click('#play');
  await waitFor(page, () => window.loopcast.state === 'connected' && window.loopcast.decoded > 25,
    undefined, 20000, 'playing');
  check(true, 'the page served by loopcast.exe connects and decodes');
  await sleep(1000);
  const r = await record(3);
  check(!r.err && Math.abs(r.hz - 1000) <= 5 && r.rms > 0.05,
    `the sink Chromium plays into carries ${r.hz} Hz at RMS ${r.rms} (want 1000 +/- 5 Hz, > 0.05)${r.err ? `: ${r.err}` : ''}`);

  const id = await page.evaluate(() => window.loopcast.session);
  const t0 = Date.now();
  const res = await fetch(`${base}/api/v1/sessions/${id}`, {
    method: 'PATCH',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ volume: 30 }),
  });
  check(res.ok, `PATCH volume 30 of the page's session: HTTP ${res.status}`);
  await waitFor(page, () => window.loopcast.sliderValue === 30, undefined, 2000, 'slider at 30');
  check(true, `the page's slider followed the API in ${Date.now() - t0} ms`);
  check(problems.length === 0, `no page errors${problems.length ? `: ${problems.join('; ')}` : ''}`);
} catch (e) {
  check(false, e.message);
} finally {
  await close();
}
process.exit(failed ? 1 : 0);
