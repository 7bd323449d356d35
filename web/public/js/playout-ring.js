// playout-ring.js — the ring playout: what the AudioWorkletProcessor (playout-worklet.js, secure
// contexts) and the ScriptProcessorNode output (output.js ScriptOutput, a plain-HTTP candidate)
// both run, one render quantum at a time. No Web Audio here: the host passes its output clock.
// Owns a ring of decoded stereo samples (onMessage {type:'pcm', pts, l, r}) and plays it out 128
// frames per render quantum:
//   priming  — silence until the fill reaches target + one packet, then a 128-sample fade-in;
//   playing  — drift control drops/inserts single samples (playout-core.js) to keep the fill
//              at the target; a fill well above it is caught up by cutting single periods of
//              the audio (findCut + splice, ≤ 10 %, pitch kept); a fill far above target (a burst
//              after a stall) is cut with a 128-sample cross-fade;
//   underrun — the ring ran dry: fade from the last samples to zero over one quantum (no click),
//              count it, and go back to priming;
//   sync gap — synchronized playback (playout-core.js syncGap) and far too early: fade out, play
//              the shortfall as silence with the ring untouched, fade in where it left off.
// stats(frame) is what the host reports to the page every ~100 ms: fill, average fill, target,
// jitter, underruns, corrections, and which stream sample (pts) plays at which frame (latency).
import { PlayoutControl, resampleBlock, findCut, splice, STREAM_RATE } from './playout-core.js';

const Q = 128;
const ringGet = (a, i, cap) => a[i % cap];

export class RingPlayout {
  constructor({ floorMs = 20, adaptMinMs = 0, rate = STREAM_RATE } = {}) {
    this.rate = rate;
    this.cap = Math.ceil(rate * 4);
    this.L = new Float32Array(this.cap);
    this.R = new Float32Array(this.cap);
    this.w = 0;               // samples ever written (monotonic; ring index = w % cap)
    this.r = 0;               // samples ever read
    this.anchors = [];        // {idx, pts}: where the pts sequence (re)starts in the ring
    this.writePts = null;
    this.frame = 960;         // last chunk size (one Opus packet)
    this.ctl = new PlayoutControl({ floorMs, adaptMinMs, rate, maxRate: 1 / 256 });
    this.playing = false;
    this.fresh = true;        // no audio played since construction / reset()
    this.settleUntil = 0;     // end of the settling period after a fresh start (context frames)
    this.fadeIn = 0;
    this.underruns = 0;
    this.skips = 0;
    this.syncGaps = 0;        // synchronized playback: large errors closed with a gap
    this.hold = 0;            // frames of a sync gap still to play as silence
    this.overflows = 0;
    this.cutWait = 0;         // render quanta until the catch-up searches for a cut again
    this.last = [0, 0];
  }

  // {type:'pcm'|'discontinuity'|'floor'|'reset'} from the producer; `now`: the output clock
  // (frames), `ahead`: how far it has run past the last frame rendered (see push()).
  onMessage(m, now, ahead = 0) {
    if (m.type === 'pcm') this.push(now, m.pts, m.l, m.r, ahead);
    else if (m.type === 'discontinuity') this.ctl.discontinuity();
    else if (m.type === 'floor') this.ctl.setFloorMs(m.ms);
    else if (m.type === 'sync') this.ctl.setSyncMs(m.ms);
    else if (m.type === 'reset') this.reset();
  }

  // Expected end (connection closed, stop): fade out what plays now, empty the ring, prime again.
  // Not an underrun.
  reset() {
    this.r = this.w;
    this.anchors = [];
    this.writePts = null;
    this.ctl.resetJitter();
    this.ctl.resetFill();
    if (this.playing) this.fadeOutFrom = this.last.slice();
    this.playing = false;
    this.hold = 0;
    this.fresh = true;
  }

  // A chunk arrives at output clock `now`. `ahead`: how far that clock has run past the last frame
  // rendered (a SmoothClock between bursts, playout-core.js): what is queued beyond it is the fill
  // the next burst finds, so that is what the drift control steers (≥ 0: below, the burst may
  // still find what it needs, the arrival having come in time for it).
  push(now, pts, l, r, ahead = 0) {
    const n = l.length;
    const fill = this.w - this.r;
    this.ctl.arrive(now, pts, this.playing ? Math.max(0, fill - ahead) : null);
    if (fill + n > this.cap) { this.r = this.w + n - this.cap; this.overflows++; }
    if (this.writePts === null || pts !== this.writePts) this.anchors.push({ idx: this.w, pts });
    let wi = this.w % this.cap;
    const first = Math.min(n, this.cap - wi);
    this.L.set(first === n ? l : l.subarray(0, first), wi);
    this.R.set(first === n ? r : r.subarray(0, first), wi);
    if (first < n) { this.L.set(l.subarray(first), 0); this.R.set(r.subarray(first), 0); }
    this.w += n;
    this.writePts = pts + n;
    this.frame = n;
  }

  ptsAt(idx) {
    const a = this.anchors;
    while (a.length > 1 && a[1].idx <= idx) a.shift();
    return a.length ? a[0].pts + (idx - a[0].idx) : null;
  }

  // Fills oL/oR (Q samples each) with the next quantum, which plays at output frame `frame`.
  render(oL, oR, frame) {
    let fill = this.w - this.r;

    if (this.fadeOutFrom) {          // after reset(): ramp the last output value to zero
      const [a, b] = this.fadeOutFrom;
      for (let i = 0; i < Q; i++) { const g = 1 - i / Q; oL[i] = a * g; oR[i] = b * g; }
      this.fadeOutFrom = null;
      this.last = [0, 0];
      return;
    }

    if (this.hold > 0) {              // a sync gap: silence, the ring untouched, then a fade-in
      oL.fill(0); oR.fill(0);
      this.hold -= Q;
      if (this.hold <= 0) this.fadeIn = Q;
      return;
    }

    if (!this.playing) {
      const target = this.ctl.target;
      if (fill >= target + this.frame) {
        this.r += Math.floor(fill - (target + this.frame));   // start exactly at target + 1 packet
        this.playing = true;
        this.fadeIn = Q;
        this.ctl.resetFill();
        // The arrivals that primed a fresh start include the set-up (context starting, decoder
        // warming up), not the network: measure jitter from here. After an underrun the history
        // is kept — it is what explains the underrun.
        if (this.fresh) {
          this.ctl.resetTarget();
          this.fresh = false;
          this.settleUntil = frame + 2 * this.rate;
        }
        fill = this.w - this.r;
      } else {
        oL.fill(0); oR.fill(0);
        return;
      }
    }

    const gap = this.ctl.syncGap();
    if (gap > 0) {                    // synchronized, and far too early: fade out, then hold the
      this.hold = Math.round(gap / Q) * Q - Q;   // audio back by the shortfall (this quantum,
      this.fadeOutFrom = this.last.slice();      // the fade, is the first of it)
      this.ctl.resetFill();
      this.syncGaps++;
      this.render(oL, oR, frame);
      return;
    }

    if (fill < Q) {                   // underrun: conceal with a fade to silence, re-prime
      let hl = this.last[0], hr = this.last[1];   // hold the last sample, ramp it down
      for (let i = 0; i < Q; i++) {
        if (i < fill) { hl = ringGet(this.L, this.r + i, this.cap); hr = ringGet(this.R, this.r + i, this.cap); }
        const g = 1 - i / Q;
        oL[i] = hl * g; oR[i] = hr * g;
      }
      this.r = this.w;
      this.underruns++;
      this.playing = false;
      this.ctl.resetFill();
      this.last = [0, 0];
      return;
    }

    // Settling: for 2 s after a fresh start the audio device, the decoder and the socket are still
    // warming up (stalls, then catch-up bursts). Any excess over target + 2 packets is cut at
    // once. At the end the start-up arrivals leave the jitter window (the target they raised
    // then relaxes slowly, as after any spike, which keeps a margin while the page is young).
    let settling = false;
    if (this.settleUntil) {
      settling = true;
      if (frame >= this.settleUntil) { this.ctl.resetJitter(); this.settleUntil = 0; }
    }
    const excess = fill - (this.ctl.target + this.frame);
    const margin = settling ? this.frame : 2 * this.frame + 0.15 * this.rate;
    if (excess > margin && fill >= excess + 2 * Q) {
      // A burst far above the target (the network stalled, then delivered everything): jump to
      // target + 1 packet with a one-quantum cross-fade instead of draining at the drift rate.
      const jump = Math.floor(excess);
      for (let i = 0; i < Q; i++) {
        const g = i / Q;
        oL[i] = ringGet(this.L, this.r + i, this.cap) * (1 - g) + ringGet(this.L, this.r + jump + i, this.cap) * g;
        oR[i] = ringGet(this.R, this.r + i, this.cap) * (1 - g) + ringGet(this.R, this.r + jump + i, this.cap) * g;
      }
      this.r += jump + Q;
      this.skips++;
      this.ctl.resetFill();
    } else {
      // Catch-up (playout-core.js): cut one period of the queued audio, in the ring, starting at
      // the next sample out (a splice starts exactly there, so the output has no step).
      // (After a miss — no whole period fits the allowed cut yet — the search waits 8 quanta.)
      const allowed = this.ctl.accelerate(Q);
      const ov = this.ctl.overlap();
      const search = allowed && !(this.cutWait > 0 && this.cutWait--);
      const lag = search ? findCut(this.L, this.R, this.r, this.ctl.spliceMin(),
        Math.min(this.ctl.spliceMax(), fill - ov - 2 * Q), allowed, ov, this.cap) : 0;
      if (lag) {
        splice(this.L, this.r, lag, ov, this.cap);
        splice(this.R, this.r, lag, ov, this.cap);
        this.r += lag;
        fill -= lag;
        this.ctl.cut(lag);
      } else if (search) this.cutWait = 8;
      let c = this.ctl.correction(Q);
      if (fill < Q + 1) c = Math.min(c, 0);
      resampleBlock(this.L, this.r, this.cap, oL, 0, Q, c, ringGet);
      resampleBlock(this.R, this.r, this.cap, oR, 0, Q, c, ringGet);
      this.r += Q + c;
    }
    if (this.fadeIn > 0) {
      for (let i = 0; i < Q; i++) { const g = Math.min(1, i / this.fadeIn); oL[i] *= g; oR[i] *= g; }
      this.fadeIn = 0;
    }
    this.last = [oL[Q - 1], oR[Q - 1]];
  }

  // What the page shows and steers by (output.js ringReport); `frame`: the next quantum's frame.
  stats(frame) {
    return {
      playing: this.playing,
      fill: this.w - this.r,
      fillAvg: this.ctl.fillAvg,
      target: this.ctl.target,
      jitter: this.ctl.jitter,
      late: this.ctl.recentLate,
      underruns: this.underruns,
      dropped: this.ctl.dropped,
      inserted: this.ctl.inserted,
      skips: this.skips,
      cut: this.ctl.cutSamples,
      overflows: this.overflows,
      syncShort: this.ctl.syncShort(),
      syncGaps: this.syncGaps,
      // the sample at ring index r is the next one out: it plays at `frame`
      frame,
      pts: this.playing && this.hold <= 0 ? this.ptsAt(this.r) : null,
    };
  }
}
