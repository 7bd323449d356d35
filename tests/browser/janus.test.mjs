// janus.test.mjs — --rtp into a real WebRTC SFU (issue 15): loopcast sends stream b (1000 Hz) as
// Opus RTP to a Janus 1.1 streaming-plugin mountpoint; headless Chromium watches the mountpoint
// over WebRTC through Janus's HTTP API (create → attach → watch → Janus's offer → our answer →
// start), plays it in an <audio> element into a private PulseAudio null sink, and what the sink
// plays is recorded: the tone, with no gap once it plays. Janus is started here with a private
// config folder (only the streaming plugin and the HTTP transport, on 127.0.0.1) and killed at
// the end, like every process the test starts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, startServer, stopAllServers, launchBrowser, sleep, OUT } from './harness.mjs';
import { startPulse, analyseTone } from './pulse.mjs';

const PLUGINS = '/usr/lib/x86_64-linux-gnu/janus/plugins';
const TRANSPORTS = '/usr/lib/x86_64-linux-gnu/janus/transports';

// A config folder for Janus: the streaming plugin with one Opus mountpoint (id 1) on rtpPort,
// the HTTP API on httpPort; every other plugin, transport, logger and event handler off.
function janusConfig(dir, httpPort, rtpPort) {
  const others = (folder, keep) => fs.readdirSync(folder)
    .filter((f) => /^libjanus_.*\.so$/.test(f) && f !== keep).join(',');
  fs.writeFileSync(path.join(dir, 'janus.jcfg'), `general: {
  configs_folder = "${dir}"
  plugins_folder = "${PLUGINS}"
  transports_folder = "${TRANSPORTS}"
  debug_level = 4
  admin_secret = "unused-${process.pid}"
}
media: { rtp_port_range = "40000-50000" }
plugins: { disable = "${others(PLUGINS, 'libjanus_streaming.so')}" }
transports: { disable = "${others(TRANSPORTS, 'libjanus_http.so')}" }
loggers: { disable = "libjanus_jsonlog.so" }
events: { broadcast = false }
`);
  fs.writeFileSync(path.join(dir, 'janus.transport.http.jcfg'), `general: {
  json = "indented"
  base_path = "/janus"
  http = true
  port = ${httpPort}
  ip = "127.0.0.1"
  https = false
}
admin: { admin_http = false }
`);
  fs.writeFileSync(path.join(dir, 'janus.plugin.streaming.jcfg'), `general: { }
loopcast: {
  type = "rtp"
  id = 1
  description = "loopcast stream b"
  media = ({ type = "audio", mid = "a", port = ${rtpPort}, iface = "127.0.0.1", pt = 111, codec = "opus" })
}
`);
}

async function startJanus(dir, httpPort) {
  const log = fs.openSync(path.join(OUT, 'janus.log'), 'w');
  const child = spawn('janus', ['-F', dir, '-o'], { detached: true, stdio: ['ignore', log, log] });
  fs.closeSync(log);
  const stop = () => { try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ } };
  process.on('exit', stop);
  for (let i = 0; i < 100; i++) {
    try {
      const r = await fetch(`http://127.0.0.1:${httpPort}/janus/info`);
      if (r.ok) return stop;
    } catch { /* not yet */ }
    await sleep(100);
  }
  stop();
  throw new Error(`janus did not answer on ${httpPort}: ${fs.readFileSync(path.join(OUT, 'janus.log'), 'utf8').slice(-2000)}`);
}

let pulse;
let stopJanus = () => {};
before(async () => { pulse = await startPulse(); });
after(async () => { stopJanus(); await stopAllServers(); if (pulse) pulse.stop(); });

test('Chromium plays loopcast\'s RTP over WebRTC through a Janus streaming mountpoint', { timeout: 90000 }, async () => {
  const [port, httpPort, rtpPort] = [await freePort(), await freePort(), await freePort()];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loopcast-janus-'));
  janusConfig(dir, httpPort, rtpPort);
  stopJanus = await startJanus(dir, httpPort);
  await startServer(['--stream', 'a=tone:440', '--stream', 'b=tone:1000', '--bind', '127.0.0.1',
    '--port', String(port), '--state-dir', path.join(dir, 'state'), '--mdns', 'off',
    '--rtp', `b=rtp://127.0.0.1:${rtpPort}`], { logName: 'janus-loopcast' });
  const { page, close } = await launchBrowser({ env: pulse.env });
  try {
    // The client page is served as if by Janus itself (Playwright answers the request), so its
    // API calls are same-origin.
    const origin = `http://127.0.0.1:${httpPort}`;
    await page.route(`${origin}/client.html`, (r) => r.fulfill({ contentType: 'text/html', body: '<!doctype html><title>janus client</title>' }));
    await page.goto(`${origin}/client.html`);
    const t0 = Date.now();
    const info = await page.evaluate(async () => {
      const tx = () => Math.random().toString(36).slice(2);
      const post = async (url, body) => {
        const r = await fetch(url, { method: 'POST', body: JSON.stringify({ ...body, transaction: tx() }) });
        return r.json();
      };
      const s = await post('/janus', { janus: 'create' });
      const sid = s.data.id;
      const h = await post(`/janus/${sid}`, { janus: 'attach', plugin: 'janus.plugin.streaming' });
      const hid = h.data.id;
      const events = [];
      let polling = true;
      (async () => { // the session's long poll: events and Janus's offer arrive here
        while (polling) {
          const r = await fetch(`/janus/${sid}?maxev=5&rid=${Date.now()}`).then((x) => x.json()).catch(() => null);
          if (r) events.push(...(Array.isArray(r) ? r : [r]));
        }
      })();
      window.stopPolling = () => { polling = false; };
      await post(`/janus/${sid}/${hid}`, { janus: 'message', body: { request: 'watch', id: 1 } });
      let offer = null;
      for (let i = 0; i < 100 && !offer; i++) {
        const e = events.find((x) => x.jsep && x.jsep.type === 'offer');
        if (e) offer = e.jsep;
        else await new Promise((r) => setTimeout(r, 50));
      }
      if (!offer) return { error: `no offer from Janus: ${JSON.stringify(events).slice(0, 500)}` };
      const pc = new RTCPeerConnection();
      window.pc = pc;
      const audio = document.createElement('audio');
      audio.autoplay = true;
      document.body.append(audio);
      window.janusAudio = audio;
      pc.ontrack = (ev) => { audio.srcObject = ev.streams[0] || new MediaStream([ev.track]); audio.play(); };
      await pc.setRemoteDescription(offer);
      await pc.setLocalDescription(await pc.createAnswer());
      await new Promise((r) => { // the whole answer at once: no trickle to send
        if (pc.iceGatheringState === 'complete') r();
        pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && r();
        setTimeout(r, 3000);
      });
      const st = await post(`/janus/${sid}/${hid}`, { janus: 'message', body: { request: 'start' },
        jsep: { type: 'answer', sdp: pc.localDescription.sdp } });
      return { sid, hid, start: st.janus, opus: /opus\/48000\/2/.test(offer.sdp) };
    });
    assert.ok(!info.error, info.error);
    assert.equal(info.start, 'ack', 'Janus took the answer');
    assert.ok(info.opus, 'Janus offered Opus 48 kHz');
    await page.waitForFunction(() => window.pc.connectionState === 'connected' &&
      window.janusAudio.currentTime > 1, undefined, { timeout: 20000 });
    const connectedMs = Date.now() - t0;
    const rec = analyseTone(await pulse.record(3000));
    const st = await page.evaluate(async () => {
      const stats = await window.pc.getStats();
      let inbound = null;
      stats.forEach((r) => { if (r.type === 'inbound-rtp' && r.kind === 'audio') inbound = r; });
      return { state: window.pc.connectionState, t: window.janusAudio.currentTime,
        packets: inbound && inbound.packetsReceived, lost: inbound && inbound.packetsLost,
        jitterMs: inbound && inbound.jitter * 1000 };
    });
    console.log(`WebRTC through Janus: playing ${connectedMs} ms after the page started; recorded ` +
      `${rec.seconds.toFixed(2)} s: ${rec.hz.toFixed(1)} Hz, level ${rec.level.toFixed(3)}, gaps ` +
      `${JSON.stringify(rec.gaps)}; ${JSON.stringify(st)}`);
    assert.ok(Math.abs(rec.hz - 1000) < 5, `heard ${rec.hz.toFixed(1)} Hz, not stream b's 1000 Hz`);
    assert.ok(rec.seconds > 2.5 && rec.level > 0.05, `heard ${rec.seconds} s at level ${rec.level}`);
    assert.deepEqual(rec.gaps, [], 'no gap at the sink');
    assert.ok(st.packets > 100 && st.lost === 0, `inbound RTP: ${JSON.stringify(st)}`);
    await page.evaluate(() => window.stopPolling());
  } finally {
    await close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
