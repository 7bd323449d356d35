// playout-core.js — the jitter-buffer target and drift control, shared by both outputs:
// the AudioWorklet processor (playout-worklet.js, imported inside the worklet scope) and the
// scheduled-AudioBufferSourceNode fallback (output.js). Pure arithmetic, no DOM, no Web Audio.
//
// Units: samples of the 48 kHz stream. "now" is the output clock in samples (AudioWorklet
// currentFrame, or AudioContext.currentTime × rate), pts is the packet's sample position.
//
// Jitter: transit = now − pts for every decoded chunk as it reaches the output. Its minimum over
// the last `windowMs` is "on time"; lateness = transit − min. jitter = max(95th percentile of
// lateness, 0.6 × largest lateness) over the window. target = max(floor, k × jitter + quantum), taken at once when it grows, relaxed with a
// time constant of `shrinkMs` when it may shrink (grow fast, shrink slowly).
//
// Fill: how much audio is still queued at the moment a chunk arrives (before adding it), i.e. the
// low point of the saw-tooth — the margin that protects against the next late packet. Its
// exponential average (time constant `emaMs`) is what the drift control steers to the target.
//
// Drift control: rate = kp × (fill − target), clamped to ±maxRate (fraction of samples). A
// positive rate drops single samples, a negative one inserts them; an accumulator turns the rate
// into whole samples, never more than one per `correction(n)` call. With kp = 200 ppm per ms of
// error the loop settles in ~5 s, and a 50 ppm clock mismatch leaves a 0.25 ms steady error.

export const STREAM_RATE = 48000;

export const DEFAULTS = Object.freeze({
  floorMs: 20,        // the smallest target (configurable: ?floor=MS or the settings field)
  k: 1.5,             // target = k × jitter (+ one render quantum)
  quantum: 128,       // samples the output needs at once (Web Audio render quantum)
  windowMs: 10000,    // jitter is measured over this sliding window
  shrinkMs: 20000,    // time constant with which the target relaxes downwards
  maxTargetMs: 1000,  // never buffer more than this
  emaMs: 1000,        // fill averaging time constant
  kpPerMs: 200e-6,    // correction rate per ms of fill error (200 ppm/ms)
  maxRate: 1 / 256,   // at most one dropped/inserted sample per 256 (~5 ms)
});

export class PlayoutControl {
  constructor(opts = {}) {
    this.o = { ...DEFAULTS, ...opts };
    this.rate = this.o.rate || STREAM_RATE;
    this.msToSamples = this.rate / 1000;
    this.target = this.floor();
    this.jitter = 0;
    this.fillAvg = null;
    this.acc = 0;
    this.lastArrival = null;
    this.win = [];          // [now, transit] pairs inside the window, oldest first
    this.n = 0;
    this.dropped = 0;
    this.inserted = 0;
  }

  floor() { return this.o.floorMs * this.msToSamples; }

  setFloorMs(ms) {
    if (!(ms > 0)) return;
    this.o.floorMs = ms;
    this.target = Math.max(this.target, this.floor());
  }

  // A chunk of decoded audio with first sample `pts` reaches the output at `now`; `fill` samples
  // were still queued (pass null while the output is not playing: only the jitter is updated).
  arrive(now, pts, fill) {
    const dt = this.lastArrival === null ? 0 : Math.max(0, now - this.lastArrival);
    this.lastArrival = now;
    const transit = now - pts;
    const win = this.win;
    win.push([now, transit]);
    const horizon = now - this.o.windowMs * this.msToSamples;
    let cut = 0;
    while (cut < win.length - 1 && win[cut][0] < horizon) cut++;
    if (cut) win.splice(0, cut);
    // Recomputed every 8th arrival (a sort of ≤ 10 s of packets): the spread of transit above
    // its minimum, as max(95th percentile, 0.6 × maximum) — a steady spread counts fully, a
    // single outlier (a GC pause, a scheduler hiccup) only partly.
    if (++this.n % 8 === 0 || win.length < 16) {
      const t = win.map((e) => e[1]).sort((a, b) => a - b);
      const lo = t[0];
      const p95 = t[Math.floor((t.length - 1) * 0.95)] - lo;
      const max = t[t.length - 1] - lo;
      this.jitter = Math.max(p95, 0.6 * max);
    }
    const raw = Math.min(Math.max(this.floor(), this.o.k * this.jitter + this.o.quantum),
                         this.o.maxTargetMs * this.msToSamples);
    if (raw >= this.target) this.target = raw;
    else this.target += (raw - this.target) * (1 - Math.exp(-dt / (this.o.shrinkMs * this.msToSamples)));

    if (fill !== null && fill !== undefined) {
      if (this.fillAvg === null) this.fillAvg = fill;
      else this.fillAvg += (fill - this.fillAvg) * (1 - Math.exp(-dt / (this.o.emaMs * this.msToSamples)));
    }
  }

  // How many samples to take out of the next `n`: +1 drop one, −1 insert one, 0 none.
  correction(n) {
    if (this.fillAvg === null) return 0;
    const errMs = (this.fillAvg - this.target) / this.msToSamples;
    const r = Math.max(-this.o.maxRate, Math.min(this.o.maxRate, this.o.kpPerMs * errMs));
    this.acc = Math.max(-1.5, Math.min(1.5, this.acc + r * n));
    if (this.acc >= 1) { this.acc -= 1; this.dropped++; return 1; }
    if (this.acc <= -1) { this.acc += 1; this.inserted++; return -1; }
    return 0;
  }

  // The pts clock jumped (discontinuity, reconnect): old transits mean nothing any more.
  resetJitter() { this.win = []; this.lastArrival = null; }
  // A fresh start (new connection, after Stop): forget everything learnt about the old path.
  resetTarget() { this.target = this.floor(); this.jitter = 0; this.resetJitter(); }
  // Playback (re)started: the fill average starts again from the next measurement.
  resetFill() { this.fillAvg = null; this.acc = 0; }
}

// Merge/split one sample pair in the middle of a block: the inaudible way to drop or insert a
// sample (a 1-sample step at 48 kHz becomes a half-sample interpolation instead).
// src holds n + c samples (c = +1 drop, −1 insert, 0); dst receives exactly n.
export function resampleBlock(src, srcOff, srcLen, dst, dstOff, n, c, get) {
  const mid = n >> 1;
  if (c === 0) {
    for (let i = 0; i < n; i++) dst[dstOff + i] = get(src, srcOff + i, srcLen);
  } else if (c > 0) {               // n + 1 in: average samples mid and mid+1
    for (let i = 0; i < mid; i++) dst[dstOff + i] = get(src, srcOff + i, srcLen);
    dst[dstOff + mid] = 0.5 * (get(src, srcOff + mid, srcLen) + get(src, srcOff + mid + 1, srcLen));
    for (let i = mid + 1; i < n; i++) dst[dstOff + i] = get(src, srcOff + i + 1, srcLen);
  } else {                          // n − 1 in: a new sample between mid−1 and mid
    for (let i = 0; i < mid; i++) dst[dstOff + i] = get(src, srcOff + i, srcLen);
    dst[dstOff + mid] = 0.5 * (get(src, srcOff + mid - 1, srcLen) + get(src, srcOff + mid, srcLen));
    for (let i = mid + 1; i < n; i++) dst[dstOff + i] = get(src, srcOff + i - 1, srcLen);
  }
}
