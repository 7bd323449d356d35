// tls_browser.mjs URL EXPECT [--ca FILE] [--map NAME] — the listener page in headless Chromium,
// against a loopcast (or a proxy in front of one) that the calling shell test started:
//   --ca FILE   trust this CA the way one trust prompt would (an NSS database in the browser's
//               own HOME; tests/browser/harness.mjs), never "ignore certificate errors";
//   --map NAME  resolve NAME to 127.0.0.1 inside Chromium (--host-resolver-rules), so the page is
//               opened by a non-loopback name: only https makes that a secure context.
//   EXPECT secure    window.isSecureContext, WebCodecs decoder + AudioWorklet output, then the
//                    steady-play checks of the player test (checkSteadyPlay: decode rate, 1 kHz
//                    tone at a real level, no underruns, buffer on target, latency figure), at
//                    the page's default jitter floor, in one window (the page's main-thread
//                    stalls are measured and printed with it);
//   EXPECT insecure  not a secure context, the fallback WASM decoder + AudioBuffers, decoding.
// The server must play tone:1000. Prints PASS/FAIL; exit status 0 only if every check held.
import {
  launchBrowser, watchPage, watchStalls, snapshot, waitFor, checkSteadyPlay,
} from '../browser/harness.mjs';
import { startPulse } from '../browser/pulse.mjs';

const argv = process.argv.slice(2);
const [url, expect] = argv;
const opt = (name) => { const i = argv.indexOf(name); return i > 0 ? argv[i + 1] : undefined; };
const ca = opt('--ca');
const map = opt('--map');
if (!url || !['secure', 'insecure'].includes(expect)) {
  console.error('usage: node tls_browser.mjs URL secure|insecure [--ca FILE] [--map NAME]');
  process.exit(2);
}
const SAMPLE_S = Number(process.env.LC_TLS_SAMPLE_S || 6);

let failed = 0;
const check = (ok, what) => { console.log(`${ok ? 'PASS' : 'FAIL'}: ${what}`); if (!ok) failed++; };

// Chromium plays into a real sound server (a private PulseAudio null sink), as on a phone.
const pulse = await startPulse();
const b = await launchBrowser({
  env: pulse.env,
  trustCa: ca,
  args: map ? [`--host-resolver-rules=MAP ${map} 127.0.0.1`] : [],
});
try {
  const problems = watchPage(b.page);
  await watchStalls(b.page);
  const u = new URL(url);
  const resp = await b.page.goto(u.href);
  check(resp && resp.status() === 200, `${url} loads (status ${resp && resp.status()})`);
  const secure = await b.page.evaluate(() => window.isSecureContext);
  check(secure === (expect === 'secure'), `isSecureContext is ${secure} (expected ${expect === 'secure'})`);
  await b.page.click('#play');
  await waitFor(b.page, () => window.loopcast.state === 'connected' && window.loopcast.decoded > 10,
    undefined, 15000, 'connected and decoding');
  const s = await snapshot(b.page);
  if (expect === 'secure') {
    check(s.decoder === 'webcodecs' && s.output === 'worklet',
      `WebCodecs + AudioWorklet path (decoder=${s.decoder}, output=${s.output})`);
    try {
      await checkSteadyPlay(b.page, `${u.host} webcodecs+worklet`, { tone: 1000, sampleS: SAMPLE_S });
      check(true, `steady playback of the 1 kHz tone for ${SAMPLE_S} s`);
    } catch (e) {
      check(false, e.message);
    }
  } else {
    check(s.decoder === 'wasm' && s.output === 'buffers',
      `fallback path (decoder=${s.decoder}, output=${s.output})`);
    const d0 = s.decoded;
    await new Promise((r) => setTimeout(r, 2000));
    const s2 = await snapshot(b.page);
    check(s2.decoded - d0 >= 60, `fallback decodes (${d0} → ${s2.decoded} in 2 s)`);
  }
  check(problems.length === 0, `no console errors / CSP violations ${problems.length ? JSON.stringify(problems) : ''}`);
} catch (e) {
  check(false, e.message);
} finally {
  await b.close();
  pulse.stop();
}
process.exit(failed ? 1 : 0);
