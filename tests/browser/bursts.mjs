// bursts.mjs — the acoustic yardstick of latency.mjs and sync.mjs: short bursts of a tone written
// in real time into a FIFO that loopcast reads as a `pipe:` source, and their onsets found again
// in a recording of what the sink played. One clock for everything: `now()` (process.hrtime, ms).
import fs from 'node:fs';

export const RATE = 48000;
export const now = () => Number(process.hrtime.bigint()) / 1e6;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Writes s16le stereo at RATE into `fd` in 10 ms blocks on an absolute schedule (a timer, then a
// spin through the last ms); every `periodMs` a burst of `burstMs` of 1 kHz at half scale.
// While `measuring` is true, each burst's write time goes into `sent`, and each block's lateness
// against its schedule into the writer's own statistics (stats()).
export function startBurstWriter(fd, { periodMs = 500, burstMs = 20 } = {}) {
  const block = RATE / 100, perPeriod = periodMs / 10, burstBlocks = burstMs / 10;
  const silence = Buffer.alloc(block * 4);
  const burst = Array.from({ length: burstBlocks }, (_, part) => {
    const b = Buffer.alloc(block * 4);
    for (let i = 0; i < block; i++) {
      const v = Math.round(0.5 * 32767 * Math.sin(2 * Math.PI * 1000 * (part * block + i) / RATE));
      b.writeInt16LE(v, 4 * i); b.writeInt16LE(v, 4 * i + 2);
    }
    return b;
  });
  const st = { sent: [], late: [], measuring: false, writing: true };
  const t0 = now();
  const done = (async () => {
    for (let k = 0; st.writing; k++) {
      const due = t0 + k * 10;
      const wait = due - now();
      if (wait > 1) await sleep(wait - 0.5);
      while (now() < due) { /* spin the last ms */ }
      const phase = k % perPeriod;
      if (phase === 0 && st.measuring) st.sent.push(now());
      fs.writeSync(fd, phase < burstBlocks ? burst[phase] : silence);
      if (st.measuring) st.late.push(now() - due);
    }
  })().catch((e) => { st.error = e; });   // the reader went away (EPIPE): the run says so below
  return {
    sent: st.sent,
    set measuring(v) { st.measuring = v; },
    stats() {
      const l = [...st.late].sort((a, b) => a - b);
      const q = (p) => l[Math.floor(p * (l.length - 1))] ?? NaN;
      return `FIFO writer late p50 ${q(0.5).toFixed(1)}, p99 ${q(0.99).toFixed(1)}, max ${q(1).toFixed(1)} ms` +
        (st.error ? `; it stopped: ${st.error.message}` : '');
    },
    async stop() { st.writing = false; await done; },
  };
}

// Onsets in a recording (s16le, `channels` interleaved, fed as it arrives): a sample above 3000
// after ≥ 100 ms below it. Wall time of sample i ≈ offset + i / RATE, offset taken from the
// least-delayed chunk (t − its end / RATE). onsetTimes(ch) → wall times (ms) of channel ch's onsets.
export function onsetDetector(channels = 1) {
  const st = { frames: 0, offset: Infinity, onsets: Array.from({ length: channels }, () => []), quiet: new Array(channels).fill(0), carry: Buffer.alloc(0) };
  const push = (data, t) => {
    const buf = st.carry.length ? Buffer.concat([st.carry, data]) : data;
    const n = Math.floor(buf.length / (2 * channels));
    st.carry = Buffer.from(buf.subarray(n * 2 * channels));   // a read may end mid-frame
    st.offset = Math.min(st.offset, t - ((st.frames + n) / RATE) * 1000);
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < channels; c++) {
        const v = Math.abs(buf.readInt16LE(2 * (i * channels + c)));
        if (v > 3000) {
          if (st.quiet[c] > RATE * 0.1) st.onsets[c].push(st.frames + i);
          st.quiet[c] = 0;
        } else st.quiet[c]++;
      }
    }
    st.frames += n;
  };
  return { push, onsetTimes: (ch = 0) => st.onsets[ch].map((i) => st.offset + (i / RATE) * 1000) };
}

// Median and other quantiles of a list of numbers (NaN when empty).
export function quantile(list, p) {
  const s = [...list].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(p * (s.length - 1)))] : NaN;
}
