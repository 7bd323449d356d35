// pulse.mjs — a private PulseAudio for browser tests: a null sink that Chromium plays into (a real
// sound server, as on a phone: its clock advances in device periods and stalls when the audio
// thread misses one; Chromium's fake output does neither), and parec on its monitor, which
// records what the speakers would play (shared/TESTING-AUDIO.md). Every process it starts is in
// its own process group and killed by stop() or when node exits.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const RATE = 48000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const children = new Set();
process.on('exit', () => { for (const c of children) { try { process.kill(-c.pid, 'SIGKILL'); } catch { /* gone */ } } });

function spawnGroup(cmd, args, opts) {
  const c = spawn(cmd, args, { ...opts, detached: true });
  children.add(c);
  c.on('exit', () => children.delete(c));
  return c;
}

// Resolves to { env, recorder(), record(ms), stop() }. `env` goes to launchBrowser({ env }).
// mix: also two mono sinks, `left` and `right`, remapped onto testsink's two channels, so two
// browsers (PULSE_SINK=left / right in their env) are heard in one stereo recording of
// testsink.monitor (shared/TESTING-AUDIO.md, "Two listeners, one recording").
export async function startPulse({ mix = false } = {}) {
  const rt = fs.mkdtempSync(path.join(os.tmpdir(), 'lc-pulse-rt-'));
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'lc-pulse-home-'));
  fs.chmodSync(rt, 0o700);
  const pa = path.join(home, 'default.pa');
  fs.writeFileSync(pa, ['load-module module-native-protocol-unix auth-anonymous=1',
    'load-module module-null-sink sink_name=testsink rate=48000 channels=2',
    ...(mix ? ['left', 'right'].map((ch) => `load-module module-remap-sink sink_name=${ch} master=testsink channels=1 master_channel_map=front-${ch} channel_map=mono`) : []),
    'set-default-sink testsink', 'set-default-source testsink.monitor', ''].join('\n'));
  const env = { XDG_RUNTIME_DIR: rt, HOME: home, PULSE_SERVER: `unix:${rt}/pulse/native` };
  const full = { ...process.env, ...env };
  const daemon = spawnGroup('pulseaudio', ['-n', '-F', pa, '--daemonize=no', '--exit-idle-time=-1', '--use-pid-file=no'],
    { env: full, stdio: 'ignore' });
  for (let i = 0; ; i++) {
    try { execFileSync('pactl', ['info'], { env: full, stdio: 'ignore' }); break; } catch { /* starting */ }
    if (i > 100) throw new Error('pulseaudio did not start within 10 s (pulseaudio + pulseaudio-utils installed?)');
    await sleep(100);
  }

  // parec on the sink's monitor, s16 at 48 kHz, mono (both channels mixed) or `channels: 2`;
  // onData(Buffer, wall ms when it arrived).
  const recorder = (onData, { channels = 1 } = {}) => {
    const rec = spawnGroup('parec', ['--device=testsink.monitor', '--format=s16le', `--rate=${RATE}`, `--channels=${channels}`,
      '--latency-msec=5', '--raw'], { env: full, stdio: ['ignore', 'pipe', 'ignore'] });
    rec.stdout.on('data', (buf) => onData(buf, performance.now()));
    return { stop: () => { try { process.kill(-rec.pid, 'SIGKILL'); } catch { /* gone */ } } };
  };

  // Records `ms` of what the sink plays; resolves to an Int16Array.
  const record = async (ms) => {
    const parts = [];
    const r = recorder((buf) => parts.push(buf));
    await sleep(ms);
    r.stop();
    const all = Buffer.concat(parts);
    return new Int16Array(all.buffer.slice(all.byteOffset, all.byteOffset + (all.length & ~1)));
  };

  const stop = () => {
    try { process.kill(-daemon.pid, 'SIGKILL'); } catch { /* gone */ }
    fs.rmSync(rt, { recursive: true, force: true });
    fs.rmSync(home, { recursive: true, force: true });
  };
  return { env, recorder, record, stop };
}

// What a recording of a steady tone shows: its frequency (from the zero crossings), its level, and
// every gap — a run of ≥ 5 ms whose 1 ms RMS windows all fall below a quarter of the median window's
// (an underrun's fade to silence, a skipped buffer). Leading silence (before the page played) is
// not counted: analysis starts at the first loud window.
export function analyseTone(samples, rate = RATE) {
  const W = rate / 1000;
  const rms = [];
  for (let i = 0; i + W <= samples.length; i += W) {
    let s = 0;
    for (let j = i; j < i + W; j++) s += samples[j] * samples[j];
    rms.push(Math.sqrt(s / W) / 32768);
  }
  const sorted = [...rms].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] || 0;
  const start = rms.findIndex((x) => x > median / 4);
  const gaps = [];
  let run = 0;
  for (let k = Math.max(0, start); k < rms.length; k++) {
    if (rms[k] < median / 4) { run++; continue; }
    if (run >= 5) gaps.push({ atMs: k - run, ms: run });
    run = 0;
  }
  if (run >= 5) gaps.push({ atMs: rms.length - run, ms: run });
  // Frequency from the zero crossings inside loud windows only: a gap's near-silence flips sign on
  // every sample of noise and would read as a higher pitch.
  let crossings = 0, loud = 0;
  for (let k = Math.max(0, start); k < rms.length; k++) {
    if (rms[k] < median / 4) continue;
    loud++;
    for (let i = Math.max(1, k * W); i < (k + 1) * W; i++) if ((samples[i - 1] < 0) !== (samples[i] < 0)) crossings++;
  }
  const seconds = (samples.length - Math.max(0, start) * W) / rate;
  const hz = loud ? crossings / 2 / (loud * W / rate) : 0;     // W sample pairs per window
  return { seconds, hz, level: median, gaps };
}
