// playout-core.js — the jitter-buffer target and drift control, shared by both outputs:
// the AudioWorklet processor (playout-worklet.js, imported inside the worklet scope) and the
// scheduled-AudioBufferSourceNode fallback (output.js). Pure arithmetic, no DOM, no Web Audio.
//
// Units: samples of the 48 kHz stream. "now" is the output clock in samples (AudioWorklet
// currentFrame, or AudioContext.currentTime × rate), pts is the packet's sample position.
//
// Jitter: transit = now − pts for every decoded chunk as it reaches the output. A chunk's
// lateness = its transit − the "on time" transit, which is the 5th percentile of the transits of
// the chunks that reached the output *before* it within the last `windowMs`. Causal, so late
// only ever means "later than the earlier arrivals promised"; a percentile, not the minimum, so
// one reading that is too early does not make everything after it look late. Both matter on a
// real output device, whose clock (AudioContext.currentTime) stands still whenever the device
// or the audio thread misses periods — in headless Chromium on PulseAudio for ~1.2 s while the
// stream starts, then 20–110 ms at a time, after which it either stays behind (transit steps
// down for good) or catches up in one jump (a few readings too early). Measured against the
// window's minimum, as it used to be, every arrival before a step down counted as late by the
// whole step, for the whole window, and so did every arrival after a dip: the target climbed to
// the 1000 ms cap with nothing late at all (docs/web.md, "Output clock stalls"). A lasting step
// *up* (a network or main-thread stall, a clock that runs ahead) is real lateness: the output
// consumed audio that had not arrived.
//
// jitter = the largest of:
//   * the 95th percentile of lateness over the window: a steady spread counts fully;
//   * 0.6 × the largest lateness younger than `holdMs`: a stall counts at once (partly: most
//     stalls are shorter than the largest);
//   * 0.6 × the largest *recurring* stall of the last `memoryMs`. A stall is a run of arrivals
//     later than twice the steady spread, ending `eventGapMs` before the next one; its recurring
//     part is min(its peak, the largest earlier stall's peak). Stalls that recur (a Wi-Fi retry
//     every few seconds, a GC every 20 s) keep the target up; a lone one (one GC pause) stops
//     counting after `holdMs`, and the target is back at the floor a few `shrinkMs` later,
//     not 30 s later.
// target = max(floor, k × jitter + quantum), taken at once when it grows, relaxed with a time
// constant of `shrinkMs` when it may shrink.
//
// Adaptive floor (adaptMinMs > 0, the page's default): the floor is a margin for lateness not yet
// seen. Once `steadyMs` of arrivals have been seen, it is what the lateness seen covers instead:
// the largest lateness of the last `steadyMs` plus one quantum, between adaptMinMs and floorMs. So
// on a steady path the target falls to what the path needs (every arrival of the last 10 s would
// have been in time), a late arrival raises it at once to cover that lateness, and it falls again
// 10 s later, without an all-or-nothing switch that one 6 ms arrival would throw back to 20 ms.
//
// Fill: how much audio is still queued at the moment a chunk arrives (before adding it), i.e. the
// low point of the saw-tooth — the margin that protects against the next late packet. Its
// exponential average (time constant `emaMs`) is what the drift control steers to the target.
//
// Drift control: rate = kp × (fill − target), clamped to ±maxRate (fraction of samples). A
// positive rate drops single samples, a negative one inserts them; an accumulator turns the rate
// into whole samples, never more than one per `correction(n)` call. With kp = 200 ppm per ms of
// error the loop settles in ~5 s, and a 50 ppm clock mismatch leaves a 0.25 ms steady error.
//
// Catch-up (time compression, what WebRTC's NetEQ calls "accelerate"): the drift control is
// meant for ppm, so a fill far above the target — the target relaxing after a stall, an output
// clock that stood still while packets kept coming — drained at its clamp: ~4 ms/s in the
// worklet, ~1 ms/s on the buffers path (one sample per packet), i.e. 100 ms of excess for 25 s
// or 100 s. While the fill average is more than `accelOnMs` above the target, `accelerate(n)`
// grants a cut at a rate of excess / `accelTauMs`, at most `maxAccel` (10 %, from 50 ms over:
// 150 ms of excess gone in ~2.5 s, and a target relaxing or an output thread losing time at up to
// 100 ms/s is followed — on a loaded 2-core machine the audio thread lost ~40 ms/s, and 5 % left
// the fill 70–90 ms above the target for 4 s). The output cuts it as one pitch period: findCut()
// finds the lag of 2.5–12 ms at which the audio best repeats itself and splice() cross-fades
// over 5 ms from the audio to the same audio one lag later. Periodic sound
// (a tone, a voice, a note) loses whole periods, so neither pitch nor level changes and there is
// no step; the tempo runs up to 10 % fast meanwhile, as NetEQ's accelerate does (a playbackRate
// would have to stay ≤ 1.05 and shift the pitch by up to 85 cents). Never closer than
// `accelKeepMs` to the target: the last ms are the drift control's.

export const STREAM_RATE = 48000;
// Synchronized playback: a shortfall larger than this is closed with a gap of silence: 10 ms
// until the page is first in step (joining), 50 ms after that (a large error: smaller ones are the
// drift control's, so a burst of odd readings on a loaded machine costs no gap).
const SYNC_GAP_MS = 10, SYNC_JUMP_MS = 50;

// The page's default floor (no ?floor=, nothing chosen in Settings): 20 ms, adapting down to
// 7 ms where the last 10 s of arrivals were within 4.3 ms (a wired LAN, the same host; Wi-Fi
// rarely is). A floor the listener chooses is kept fixed (app.js).
export const PAGE_FLOOR = Object.freeze({ floorMs: 20, adaptMinMs: 7 });

export const DEFAULTS = Object.freeze({
  floorMs: 20,        // the smallest target (configurable: ?floor=MS or the settings field)
  adaptMinMs: 0,      // > 0: the floor follows the lateness seen, down to this (see below)
  steadyMs: 10000,    // ... over this long, once this long has been seen
  k: 1.5,             // target = k × jitter (+ one render quantum)
  quantum: 128,       // samples the output needs at once (Web Audio render quantum)
  windowMs: 10000,    // jitter is measured over this sliding window
  baseQuantile: 0.05, // "on time" = this quantile of the earlier transits in the window
  holdMs: 2000,       // a lone stall counts this long
  eventGapMs: 1000,   // late arrivals this far apart are two stalls, not one
  memoryMs: 30000,    // a stall that recurs within this long keeps counting this long
  shrinkMs: 3000,     // time constant with which the target relaxes downwards
  maxTargetMs: 1000,  // never buffer more than this
  emaMs: 1000,        // fill averaging time constant
  kpPerMs: 200e-6,    // correction rate per ms of fill error (200 ppm/ms)
  maxRate: 1 / 256,   // at most one dropped/inserted sample per 256 (~5 ms)
  accelOnMs: 4,       // catch-up (time compression) while the fill average is this far above target
  accelKeepMs: 1,     // ... cutting it no closer than this to the target
  accelTauMs: 500,    // catch-up rate = excess / this (10 ms over: 2 %, 25 ms: 5 %) ...
  maxAccel: 0.1,      // ... at most 10 %, from 50 ms over (a second of audio in 0.9 s, at its pitch)
  spliceMinMs: 2.5,   // a cut is one period of the audio: a lag of 2.5 ms (400 Hz) ...
  spliceMaxMs: 12,    // ... to 12 ms (83 Hz)
  overlapMs: 5,       // cross-fade length of a cut
});

export class PlayoutControl {
  constructor(opts = {}) {
    this.o = { ...DEFAULTS, ...opts };
    this.rate = this.o.rate || STREAM_RATE;
    this.msToSamples = this.rate / 1000;
    this.target = this.floor();
    this.need = this.target; // what the jitter alone asks for (the target without sync)
    this.jitter = 0;
    this.fillAvg = null;
    this.acc = 0;
    this.lastArrival = null;
    this.win = [];          // [now, lateness] inside the window, oldest first
    this.stalls = [];       // {end, peak, prev, rec} of the last memoryMs, oldest first
    this.spread = 0;        // the last 95th percentile of lateness
    this.recentLate = 0;    // the largest lateness of the last holdMs (reported: lateMs)
    this.seenSince = null;  // output clock of the first arrival since the jitter was reset
    this.maxLate = 0;       // the largest lateness of the last steadyMs (adaptive floor)
    this.syncFill = null;   // synchronized playback: the fill the page's sync loop asks for
    this.fillSince = 0;     // output clock of the fill average's first reading
    this.syncInStep = false; // synchronized playback: in step once since the last fresh start
    this.hist = [];         // [now, transit] inside the window, oldest first
    this.sorted = [];       // the same transits, ascending
    this.n = 0;
    this.dropped = 0;
    this.inserted = 0;
    this.credit = 0;        // catch-up: samples that may be cut now (see accelerate())
    this.cutSamples = 0;    // catch-up: samples cut so far, and in how many cuts
    this.cuts = 0;
  }

  // Catch-up lags and cross-fade length, in samples.
  spliceMin() { return Math.round(this.o.spliceMinMs * this.msToSamples); }
  spliceMax() { return Math.round(this.o.spliceMaxMs * this.msToSamples); }
  overlap() { return Math.round(this.o.overlapMs * this.msToSamples); }

  floor() { return this.o.floorMs * this.msToSamples; }

  // The floor in force at `now`: floorMs, or once steadyMs of arrivals have been seen with an
  // adaptive floor, the largest recent lateness + a quantum within [adaptMinMs, floorMs].
  floorAt(now) {
    const o = this.o;
    if (!(o.adaptMinMs > 0) || this.seenSince === null || now - this.seenSince < o.steadyMs * this.msToSamples) return this.floor();
    return Math.min(this.floor(), Math.max(o.adaptMinMs * this.msToSamples, this.maxLate + o.quantum));
  }

  // A floor the listener chose: kept as it is (no adapting).
  setFloorMs(ms) {
    if (!(ms > 0)) return;
    this.o.floorMs = ms;
    this.o.adaptMinMs = 0;
    this.target = Math.max(this.target, this.floor());
  }

  // Synchronized playback (docs/web.md): the page measures when a sample plays against when the
  // server wants it played and asks for the fill that closes the difference (ms; null: off, each
  // page as early as it can). The target is that fill, but never below what the jitter needs: a
  // page whose path is too long for the delay plays as early as it can (syncShort() says so).
  setSyncMs(ms) {
    this.syncFill = ms === null || !(ms >= 0) ? null : ms * this.msToSamples;
    if (this.syncFill === null) this.syncInStep = false;
  }
  // Synchronized and the fill average well below the target (SYNC_GAP_MS before the page was first
  // in step, SYNC_JUMP_MS after): an error the output closes at once with a gap of silence (0
  // otherwise: the drift control, ~4 ms/s at most, closes small ones without a sound). Samples.
  // Only once the average has had emaMs to settle since it (re)started: right after a gap or a
  // start its first readings are one packet's saw-tooth, and gaps would cascade.
  syncGap() {
    if (this.syncFill === null || this.fillAvg === null) return 0;
    if (this.lastArrival - this.fillSince < this.o.emaMs * this.msToSamples) return 0;
    const d = this.target - this.fillAvg;
    if (!this.syncInStep && Math.abs(d) <= SYNC_GAP_MS * this.msToSamples) this.syncInStep = true;
    return d > (this.syncInStep ? SYNC_JUMP_MS : SYNC_GAP_MS) * this.msToSamples ? d : 0;
  }
  // Synchronized, but the delay asked for is shorter than what the jitter needs (samples short).
  syncShort() { return this.syncFill === null ? 0 : Math.max(0, this.need - this.syncFill); }

  // A chunk of decoded audio with first sample `pts` reaches the output at `now`; `fill` samples
  // were still queued (pass null while the output is not playing: only the jitter is updated).
  arrive(now, pts, fill) {
    const dt = this.lastArrival === null ? 0 : Math.max(0, now - this.lastArrival);
    this.lastArrival = now;
    const transit = now - pts;
    const horizon = now - this.o.windowMs * this.msToSamples;
    // The baseline: the 5th percentile of the earlier transits in the window (kept sorted).
    const sorted = this.sorted, hist = this.hist;
    while (hist.length && hist[0][0] < horizon) sorted.splice(lowerBound(sorted, hist.shift()[1]), 1);
    const base = sorted.length ? Math.min(transit, sorted[Math.floor((sorted.length - 1) * this.o.baseQuantile)]) : transit;
    const late = transit - base;
    hist.push([now, transit]);
    sorted.splice(lowerBound(sorted, transit), 0, transit);
    const win = this.win;
    win.push([now, late]);
    let cut = 0;
    while (cut < win.length - 1 && win[cut][0] < horizon) cut++;
    if (cut) win.splice(0, cut);
    this.noteStall(now, late);
    if (this.seenSince === null) this.seenSince = now;
    if (late > this.maxLate) this.maxLate = late;      // at once; estimate() lets it fall
    // Recomputed every 8th arrival (a sort of ≤ 10 s of packets), and at once for an arrival
    // later than the current estimate accounts for (a stall raises the target immediately).
    if (++this.n % 8 === 0 || win.length < 16 || 0.6 * late > this.jitter) this.jitter = this.estimate(now);
    const raw = Math.min(Math.max(this.floorAt(now), this.o.k * this.jitter + this.o.quantum),
                         this.o.maxTargetMs * this.msToSamples);
    this.need = raw;
    if (this.syncFill !== null) this.target = Math.max(raw, this.syncFill);
    else if (raw >= this.target) this.target = raw;
    else this.target += (raw - this.target) * (1 - Math.exp(-dt / (this.o.shrinkMs * this.msToSamples)));

    if (fill !== null && fill !== undefined) {
      if (this.fillAvg === null) { this.fillAvg = fill; this.fillSince = now; }
      else this.fillAvg += (fill - this.fillAvg) * (1 - Math.exp(-dt / (this.o.emaMs * this.msToSamples)));
    }
  }

  // jitter from the lateness window (see the top of this file).
  estimate(now) {
    const t = this.win.map((e) => e[1]).sort((a, b) => a - b);
    this.spread = t[Math.floor((t.length - 1) * 0.95)];
    const young = now - this.o.holdMs * this.msToSamples;
    let fresh = 0, recurring = 0;
    for (let i = this.win.length - 1; i >= 0 && this.win[i][0] >= young; i--) fresh = Math.max(fresh, this.win[i][1]);
    for (const s of this.stalls) recurring = Math.max(recurring, s.rec);
    this.recentLate = fresh;
    const since = now - this.o.steadyMs * this.msToSamples;
    let maxLate = 0;
    for (let i = this.win.length - 1; i >= 0 && this.win[i][0] >= since; i--) maxLate = Math.max(maxLate, this.win[i][1]);
    this.maxLate = maxLate;
    return Math.max(this.spread, 0.6 * fresh, 0.6 * recurring);
  }

  // Groups late arrivals into stalls (see the top of this file).
  noteStall(now, late) {
    const st = this.stalls;
    const memory = now - this.o.memoryMs * this.msToSamples;
    while (st.length && st[0].end < memory) st.shift();
    if (late <= Math.max(2 * this.spread, this.o.quantum)) return;
    const last = st[st.length - 1];
    if (last && now - last.end < this.o.eventGapMs * this.msToSamples) {
      last.end = now;
      last.peak = Math.max(last.peak, late);
      last.rec = Math.min(last.peak, last.prev);
      return;
    }
    let prev = 0;
    for (const s of st) prev = Math.max(prev, s.peak);
    st.push({ end: now, peak: late, prev, rec: Math.min(late, prev) });
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

  // Catch-up, asked once per `n` samples about to play: the longest cut (samples) allowed now,
  // 0 for none. Whoever cuts L samples (findCut + splice) reports it with cut(L).
  accelerate(n) {
    if (this.fillAvg === null) { this.credit = 0; return 0; }
    const m = this.msToSamples, excess = this.fillAvg - this.target;
    if (excess < this.o.accelOnMs * m) { this.credit = 0; return 0; }
    const rate = Math.min(this.o.maxAccel, excess / (this.o.accelTauMs * m));
    this.credit = Math.min(this.credit + rate * n, this.spliceMax());
    if (this.credit < this.spliceMin()) return 0;
    const allowed = Math.floor(Math.min(this.spliceMax(), excess - this.o.accelKeepMs * m));
    return allowed >= this.spliceMin() ? allowed : 0;
  }

  // L samples were cut: the fill (and so its average: the cut is known, not measured) is L lower.
  cut(L) {
    this.credit -= L;
    if (this.fillAvg !== null) this.fillAvg -= L;
    this.cutSamples += L;
    this.cuts++;
  }

  // The pts clock jumped (discontinuity, reconnect): old transits mean nothing any more.
  resetJitter() {
    this.win = []; this.hist = []; this.sorted = []; this.stalls = [];
    this.lastArrival = null; this.recentLate = 0; this.seenSince = null; this.maxLate = 0;
  }
  // The pts clock jumped inside a connection (the flag: another stream, an unmute, a skip to live):
  // what follows arrives like a join's audio, so synchronized playback starts over as at a join
  // (its first shortfall closed by a gap above SYNC_GAP_MS, not left to the drift control).
  discontinuity() { this.resetJitter(); this.syncInStep = false; }
  // A fresh start (new connection, after Stop): forget everything learnt about the old path.
  resetTarget() { this.target = this.floor(); this.jitter = 0; this.syncInStep = false; this.resetJitter(); }
  // Playback (re)started: the fill average starts again from the next measurement.
  resetFill() { this.fillAvg = null; this.acc = 0; }
}

// A step-free output clock. The output clock a page or processor can read (AudioWorklet
// currentFrame, AudioContext.currentTime) advances in device periods: the audio thread renders
// a period of 10.7–24 ms (PulseAudio) in one burst of render quanta, then sleeps, so an arrival
// stamped with it is "late" by anything up to a period depending only on where in the period it
// came — which the estimator counted as jitter (target ≈ 1.5 × period + quantum: 30–40 ms where
// 20 would do). This clock runs at the wall clock's pace from the *end* of the latest burst:
//   now(wall) = wall × rate + max over the last `windowMs` of (frame − wall × rate)
// where (frame, wall) are observed whenever the clock is read (frame: the first frame not yet
// rendered). Right after a burst frame − wall × rate is at its largest; the maximum is that edge.
// Measured from it, the queue's fill (queued − rendered ahead) shrinks smoothly between bursts and
// a burst needs only that fill ≥ 0 when it starts, whatever the period. The maximum over a window
// (not over all time) lets it follow drift between the two clocks and a device that lost time for
// good; it never runs more than `aheadMaxMs` past the last frame observed, so a clock that stands
// still (the device missed periods) is not extrapolated into the future.
export class SmoothClock {
  constructor({ rate = STREAM_RATE, windowMs = 1000, aheadMaxMs = 50 } = {}) {
    this.rate = rate;
    this.windowMs = windowMs;
    this.aheadMax = aheadMaxMs * rate / 1000;
    this.q = [];            // [wall ms, frame − wall × rate], offsets decreasing (a max-deque)
    this.lastFrame = null;
  }

  observe(frame, wallMs) {
    const off = frame - wallMs * this.rate / 1000, q = this.q;
    while (q.length && q[q.length - 1][1] <= off) q.pop();
    q.push([wallMs, off]);
    while (q.length > 1 && q[0][0] < wallMs - this.windowMs) q.shift();
    this.lastFrame = frame;
  }

  // How far the clock has run past the last frame observed (frames, ≥ 0).
  ahead(wallMs) { const t = this.now(wallMs); return t === null ? 0 : t - this.lastFrame; }

  // The output clock (frames) at wall time wallMs; null before the first observation.
  now(wallMs) {
    if (this.lastFrame === null) return null;
    const t = wallMs * this.rate / 1000 + this.q[0][1];
    return Math.max(this.lastFrame, Math.min(t, this.lastFrame + this.aheadMax));
  }

  reset() { this.q = []; this.lastFrame = null; }
}

// The wall clock SmoothClock is fed with (ms): performance.now() where the scope has it (pages,
// Workers), Date.now() in an AudioWorkletGlobalScope, which has no `performance`.
const perf = globalThis.performance;
export const wallMs = perf && typeof perf.now === 'function' ? () => perf.now() : () => Date.now();

// Index of the first element of the ascending array a that is >= x.
function lowerBound(a, x) {
  let lo = 0, hi = a.length;
  while (lo < hi) { const mid = (lo + hi) >> 1; if (a[mid] < x) lo = mid + 1; else hi = mid; }
  return lo;
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

// Catch-up, step 1 (bestLag, findCut): the lag in [minLag, maxLag] at which the stereo audio from
// `off` (indices modulo `cap`: a ring, or a plain array with cap = its length) best repeats
// itself — the largest normalized correlation of the `overlap` samples at off with those at
// off + lag, on L + R.
// Searched on a 4× decimated copy (≈ 120 lags × 60 products), then refined to the sample around
// the best coarse lag: ~0.1 ms, cheap enough for the audio thread's 2.7 ms render quantum.
// Silence repeats at any lag: maxLag. Needs off + maxLag + overlap samples.
const D = 4;
let scratch = new Float32Array(0), scratchD = new Float32Array(0);
function bestLag(A, B, off, minLag, maxLag, overlap, cap) {
  const len = maxLag + overlap;
  if (scratch.length < len) { scratch = new Float32Array(len); scratchD = new Float32Array(Math.ceil(len / D)); }
  const x = scratch, xd = scratchD;
  for (let i = 0, j = off % cap; i < len; i++, j = j + 1 === cap ? 0 : j + 1) x[i] = A[j] + B[j];
  const nd = Math.floor(len / D);
  for (let i = 0; i < nd; i++) xd[i] = x[D * i] + x[D * i + 1] + x[D * i + 2] + x[D * i + 3];
  const corr = (v, lag, n, step) => {
    let e0 = 0, xy = 0, yy = 0;
    for (let i = 0; i < n; i += step) { const a = v[i], b = v[i + lag]; e0 += a * a; xy += a * b; yy += b * b; }
    return e0 < 1e-9 ? null : xy / Math.sqrt(e0 * yy + 1e-20);
  };
  let best = maxLag, bestC = -Infinity;
  const od = Math.floor(overlap / D);
  for (let lag = Math.ceil(minLag / D); lag * D <= maxLag && lag + od <= nd; lag++) {
    const c = corr(xd, lag, od, 1);
    if (c === null) { lagCorr = 1; return maxLag; }
    if (c > bestC + 1e-6) { bestC = c; best = lag * D; }
  }
  const coarse = best;
  bestC = -Infinity;
  for (let lag = Math.max(minLag, coarse - D + 1); lag <= Math.min(maxLag, coarse + D - 1); lag++) {
    const c = corr(x, lag, overlap, 1);
    if (c === null) { lagCorr = 1; return maxLag; }
    if (c > bestC + 1e-6) { bestC = c; best = lag; }
  }
  lagCorr = bestC;
  return best;
}
let lagCorr = 0;   // the correlation at the lag bestLag() returned last

// The cut to make: the lag at which the audio best repeats itself within [minLag, maxLag] (what
// is queued), if it is at most `limit` (what the catch-up allows now); else the best lag up to
// the limit if it repeats nearly as well (noise, where nothing repeats, or silence); else 0:
// no cut now — a cut that is not a whole period of a periodic sound would be heard as a click
// (e.g. 440 Hz has periods of 2.27 and 4.54 ms, and nothing in 2.5–3 ms fits it).
export function findCut(A, B, off, minLag, maxLag, limit, overlap, cap) {
  if (limit < minLag || maxLag < minLag) return 0;
  const lag = bestLag(A, B, off, minLag, maxLag, overlap, cap);
  if (lag <= limit) return lag;
  const c = lagCorr;
  const lag2 = bestLag(A, B, off, minLag, Math.min(limit, maxLag), overlap, cap);
  return lagCorr >= c - 0.02 ? lag2 : 0;
}

// Catch-up, step 2 (per channel): cut `lag` samples at `off` in place. The `overlap` samples at
// off + lag become a linear cross-fade from the audio at off (first sample exactly a[off], so the
// output goes on without a step) to the audio at off + lag (last sample next to what follows it);
// playback then resumes at off + lag. Needs off + lag + overlap samples.
export function splice(a, off, lag, overlap, cap) {
  for (let i = 0; i < overlap; i++) {
    const g = i / overlap, j = (off + lag + i) % cap;
    a[j] = a[(off + i) % cap] * (1 - g) + a[j] * g;
  }
}
