// output.js — the two playout paths, one interface:
//   push(pts, left, right)  decoded stereo audio (Float32Arrays, ownership passes to the output)
//   discontinuity()         the pts sequence jumps: forget arrival-jitter history
//   reset()                 expected stop (connection closed): fade out, empty, prime again
//   setFloorMs(ms)          the listener chose a floor: it no longer adapts
//   setSyncMs(ms|null)      synchronized playback: the fill the page's sync loop asks for
//   close()
//   onReport(r)             ~10×/s: {playing, bufferMs, targetMs, jitterMs, lateMs (the latest
//                           arrival of the last 2 s, on the output clock), underruns, dropped,
//                           inserted, skips, cutMs (catch-up), syncShortMs, syncGaps,
//                           playAt: {pts, ctxTime}} (what plays when, for latency and sync)
// WorkletOutput: AudioWorklet + ring (secure contexts). BufferOutput: scheduled
// AudioBufferSourceNodes (insecure contexts such as http://192.168.x.y, where AudioWorklet does
// not exist). ScriptOutput: the worklet's ring on a ScriptProcessorNode (the other plain-HTTP
// candidate, `?output=script`; measured against the buffers in docs/web.md). All use the same
// target and drift logic (playout-core.js).
import { PlayoutControl, SmoothClock, wallMs, resampleBlock, findCut, splice, STREAM_RATE } from './playout-core.js';
import { RingPlayout } from './playout-ring.js';

const Q = 128;

export class WorkletOutput {
  static supported(ctx) {
    return typeof window.AudioWorkletNode === 'function' && window.isSecureContext &&
      !!ctx.audioWorklet && ctx.sampleRate === STREAM_RATE;
  }

  static async create(ctx, dest, opts) {
    await ctx.audioWorklet.addModule(new URL('./playout-worklet.js', import.meta.url));
    return new WorkletOutput(ctx, dest, opts);
  }

  constructor(ctx, dest, { floorMs, adaptMinMs = 0, onReport }) {
    this.kind = 'worklet';
    this.ctx = ctx;
    this.node = new AudioWorkletNode(ctx, 'loopcast-playout', {
      numberOfInputs: 0, numberOfOutputs: 1, outputChannelCount: [2],
      processorOptions: { floorMs, adaptMinMs },
    });
    this.node.connect(dest);
    this.node.port.onmessage = (e) => { if (e.data.type === 'stats') onReport(ringReport(e.data, ctx.sampleRate)); };
  }

  push(pts, l, r) {
    this.node.port.postMessage({ type: 'pcm', pts, l, r }, [l.buffer, r.buffer]);
  }
  // A port on which a producer (the stream Worker) sends {type:'pcm'|'discontinuity'} straight
  // to the processor, bypassing this thread.
  sourcePort() {
    const ch = new MessageChannel();
    this.node.port.postMessage({ type: 'source', port: ch.port1 }, [ch.port1]);
    return ch.port2;
  }
  discontinuity() { this.node.port.postMessage({ type: 'discontinuity' }); }
  reset() { this.node.port.postMessage({ type: 'reset' }); }
  setFloorMs(ms) { this.node.port.postMessage({ type: 'floor', ms }); }
  setSyncMs(ms) { this.node.port.postMessage({ type: 'sync', ms }); }
  close() { this.node.port.onmessage = null; this.node.disconnect(); }
}

// A ring's stats (playout-ring.js, in samples and frames) as the page's report (ms, context time).
function ringReport(s, rate) {
  const ms = 1000 / rate;
  return {
    playing: s.playing,
    bufferMs: s.fillAvg === null ? s.fill * ms : s.fillAvg * ms,
    fillMs: s.fill * ms,
    targetMs: s.target * ms,
    jitterMs: s.jitter * ms,
    lateMs: s.late * ms,
    underruns: s.underruns,
    dropped: s.dropped,
    inserted: s.inserted,
    skips: s.skips,
    cutMs: s.cut * ms,
    syncShortMs: s.syncShort * ms,
    syncGaps: s.syncGaps,
    playAt: s.pts === null ? null : { pts: s.pts, ctxTime: s.frame / rate },
  };
}

// The ring playout on the main thread, pulled by a ScriptProcessorNode: no graph change per packet
// (the buffers path creates and connects a node for each), but every block is computed on the
// main thread, which a busy page delays. Arrivals are stamped with currentTime, blocks with their
// playbackTime.
export class ScriptOutput {
  static supported(ctx) { return typeof ctx.createScriptProcessor === 'function' && ctx.sampleRate === STREAM_RATE; }

  static async create(ctx, dest, opts) { return new ScriptOutput(ctx, dest, opts); }

  constructor(ctx, dest, { floorMs, adaptMinMs = 0, onReport, blockSize = 1024 }) {
    this.kind = 'script';
    this.ctx = ctx;
    this.rate = ctx.sampleRate;
    this.ring = new RingPlayout({ floorMs, adaptMinMs, rate: this.rate });
    this.node = ctx.createScriptProcessor(blockSize, 0, 2);
    this.next = 0;               // the frame after the last block computed
    this.node.onaudioprocess = (e) => {
      const L = e.outputBuffer.getChannelData(0), R = e.outputBuffer.getChannelData(1);
      const frame = Math.round(e.playbackTime * this.rate);
      for (let q = 0; q < L.length; q += 128) this.ring.render(L.subarray(q, q + 128), R.subarray(q, q + 128), frame + q);
      this.next = frame + L.length;
    };
    this.node.connect(dest);
    this.timer = setInterval(() => onReport(ringReport(this.ring.stats(this.next), this.rate)), 100);
  }

  push(pts, l, r) { this.ring.push(Math.round(this.ctx.currentTime * this.rate), pts, l, r); }
  discontinuity() { this.ring.onMessage({ type: 'discontinuity' }); }
  reset() { this.ring.reset(); }
  setFloorMs(ms) { this.ring.ctl.setFloorMs(ms); }
  setSyncMs(ms) { this.ring.ctl.setSyncMs(ms); }
  close() { clearInterval(this.timer); this.node.onaudioprocess = null; this.node.disconnect(); }
}

const arrGet = (a, i) => a[i];

export class BufferOutput {
  static async create(ctx, dest, opts) { return new BufferOutput(ctx, dest, opts); }

  constructor(ctx, dest, { floorMs, adaptMinMs = 0, onReport }) {
    this.kind = 'buffers';
    this.ctx = ctx;
    this.rate = STREAM_RATE;         // AudioBuffers at the stream rate; Web Audio resamples if needed
    // Buffers may only be trimmed/padded once each: cap the correction rate at one per packet.
    this.ctl = new PlayoutControl({ floorMs, adaptMinMs, rate: this.rate, maxRate: 1 / 960 });
    // currentTime stands still between the render thread's bursts (one device period each):
    // arrivals and the fill are measured on a step-free clock instead (playout-core.js), fed
    // every time this thread reads currentTime.
    this.clock = new SmoothClock({ rate: this.rate });
    this.fader = ctx.createGain();   // for reset(): a 10 ms fade instead of a hard stop
    this.fader.connect(dest);
    this.onReport = onReport;
    this.nextTime = null;            // context time at which the next buffer starts
    this.sources = new Set();
    this.underruns = 0;
    this.skips = 0;
    this.syncGaps = 0;
    this.playAt = null;
    this.lastFill = 0;
    this.fresh = true;               // nothing played since construction / reset()
    this.settleUntil = 0;            // context time: end of the settling period (see the worklet)
    this.timer = setInterval(() => this.report(), 100);
  }

  // The output clock, step-free (frames), after observing currentTime now.
  smoothNow() {
    const w = wallMs();
    this.clock.observe(this.ctx.currentTime * this.rate, w);
    return this.clock.now(w);
  }

  push(pts, l, r) {
    const ctx = this.ctx, sr = this.rate;
    const now = this.smoothNow() / sr;
    let n = l.length;
    // Behind: the schedule ends before what the render thread has already rendered (currentTime,
    // not the smooth clock: a buffer that starts at or after currentTime still plays in time).
    const behind = this.nextTime !== null && this.nextTime < ctx.currentTime;
    const fill = this.nextTime === null || behind ? null : Math.max(0, (this.nextTime - now) * sr);
    this.ctl.arrive(now * sr, pts, fill);
    let fade = false;
    if (fill === null) {
      // Nothing scheduled, or the schedule fell behind the clock: (re)anchor one target ahead.
      if (behind) this.underruns++;
      if (this.fresh) {
        this.ctl.resetTarget();
        this.fresh = false;
        this.settleUntil = now + 2;
      }
      this.nextTime = now + this.ctl.target / sr;
      this.ctl.resetFill();
      fade = true;
    } else {
      // Far too much queued (a burst after a stall; during the first 2 s, any excess over
      // target + 2 packets): skip this packet. At the end of settling, forget the start-up arrivals.
      const settling = this.settleUntil > 0;
      if (settling && now >= this.settleUntil) { this.ctl.resetJitter(); this.settleUntil = 0; }
      if (fill > this.ctl.target + 2 * n + (settling ? 0 : 0.15 * sr)) {
        this.skips++;
        this.ctl.resetFill();
        return;
      }
      // Synchronized, and far too early: start this packet that much later (a gap of silence).
      const gap = this.ctl.syncGap();
      if (gap > 0) {
        this.nextTime += gap / sr;
        this.ctl.resetFill();
        this.syncGaps++;
        fade = true;
      }
    }
    // Catch-up (playout-core.js): a fill well above the target loses one period of this packet
    // (2.5–12 ms, cross-faded over 5 ms), inside the packet, so its edges still meet the
    // neighbouring buffers sample for sample.
    const allowed = fade ? 0 : this.ctl.accelerate(n);
    const ov = this.ctl.overlap();
    const lag = allowed ? findCut(l, r, 0, this.ctl.spliceMin(), Math.min(this.ctl.spliceMax(), n - ov), allowed, ov, n) : 0;
    if (lag) {
      splice(l, 0, lag, ov, n);
      splice(r, 0, lag, ov, n);
      l = l.subarray(lag); r = r.subarray(lag); n -= lag;
      this.ctl.cut(lag);
    }
    const c = fade ? 0 : this.ctl.correction(n);
    const m = n - c;
    const buf = ctx.createBuffer(2, m, sr);
    const bl = buf.getChannelData(0), br = buf.getChannelData(1);
    resampleBlock(l, 0, n, bl, 0, m, c, arrGet);
    resampleBlock(r, 0, n, br, 0, m, c, arrGet);
    if (fade) {
      for (let i = 0; i < Math.min(Q, m); i++) { bl[i] *= i / Q; br[i] *= i / Q; }
    }
    const src = ctx.createBufferSource();
    src.buffer = buf;
    src.connect(this.fader);
    // No disconnect() here: a source that has played is dropped from the graph by the browser
    // itself, and every disconnect from this thread takes the graph lock, which the render thread
    // must then wait for (Chromium renders silence for a quantum it cannot lock).
    src.onended = () => { this.sources.delete(src); };
    src.start(this.nextTime);
    this.sources.add(src);
    this.playAt = { pts, ctxTime: this.nextTime };
    this.nextTime += m / sr;
    this.lastFill = fill === null ? this.ctl.target : fill;
  }

  report() {
    const ms = 1000 / this.rate;
    this.smoothNow();
    const playing = this.nextTime !== null && this.nextTime > this.ctx.currentTime;
    this.onReport({
      playing,
      bufferMs: (this.ctl.fillAvg === null ? this.lastFill : this.ctl.fillAvg) * ms,
      fillMs: playing ? (this.nextTime - this.ctx.currentTime) * 1000 : 0,
      targetMs: this.ctl.target * ms,
      jitterMs: this.ctl.jitter * ms,
      lateMs: this.ctl.recentLate * ms,
      underruns: this.underruns,
      dropped: this.ctl.dropped,
      inserted: this.ctl.inserted,
      skips: this.skips,
      cutMs: this.ctl.cutSamples * ms,
      syncShortMs: this.ctl.syncShort() * ms,
      syncGaps: this.syncGaps,
      playAt: this.playAt,
    });
  }

  discontinuity() { this.ctl.discontinuity(); }

  reset() {
    const t = this.ctx.currentTime, g = this.fader.gain;
    g.cancelScheduledValues(t);
    g.setValueAtTime(1, t);
    g.linearRampToValueAtTime(0, t + 0.01);
    for (const s of this.sources) { try { s.stop(t + 0.012); } catch { /* already stopped */ } }
    g.setValueAtTime(1, t + 0.015);
    this.nextTime = null;
    this.playAt = null;
    this.fresh = true;
    this.settleUntil = 0;
    this.ctl.resetJitter();
    this.ctl.resetFill();
  }

  setFloorMs(ms) { this.ctl.setFloorMs(ms); }
  setSyncMs(ms) { this.ctl.setSyncMs(ms); }

  close() {
    clearInterval(this.timer);
    for (const s of this.sources) { try { s.stop(); } catch { /* already stopped */ } }
    this.fader.disconnect();
  }
}
