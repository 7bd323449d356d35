// pipeline.js — the part of the player that must not wait for the page: the audio WebSocket
// (connection.js), the sequence check and the Opus decoder (decoder.js). It runs in the stream
// Worker (stream-worker.js); a browser that cannot start a module Worker runs it on the page.
// Either way it never touches the DOM, and the page talks to it in messages only:
//   page → pipeline:  start {base, session}, stop, send {obj}
//   pipeline → page:  emit(msg) — state, hello, message, close, clock, counts, decoder, error
//   pipeline → output: sink.pcm(pts, l, r) (buffers transferred), sink.discontinuity()
// On the secure path the sink is a MessagePort into the AudioWorklet, so decoded audio goes from
// the Worker to the audio thread without passing the page's main thread (a busy page cannot delay
// it); on the plain-HTTP path scheduled AudioBuffers can only be made on the page, so the sink is
// the page.
import { Connection } from './connection.js';
import { createDecoder, wasmUsable } from './decoder.js';

const COUNTS_EVERY_MS = 100;

export class Pipeline {
  // emit(msg, transfer?): to the page; sink: {pcm(pts, l, r), discontinuity()}
  constructor({ emit, sink, forceWasm = false, noWasm = false }) {
    this.emit = emit;
    this.sink = sink;
    this.forceWasm = forceWasm;
    this.noWasm = noWasm;
    this.conn = null;
    this.decoder = null;
    this.decoderKey = '';
    this.decoderInit = null;
    this.lastSeq = null;
    this.counts = { packets: 0, decoded: 0, gaps: 0, discontinuities: 0, decodeErrors: 0 };
    this.anchors = [];       // {pts, captureNs, epoch} not yet sent to the page (its latency figure)
    this.epoch = 0;          // counts the pts sequence's jumps (connection, discontinuity, gap): the
                             // page keeps one epoch's anchors (another stream's pts mean other times)
    this.timer = null;
    this.running = false;    // between start and stop: decoded audio goes to the sink
  }

  start({ base, session }) {
    if (!this.conn) {
      this.conn = new Connection({
        onState: (state, detail) => this.emit({ type: 'state', state, detail }),
        onHello: (m) => this.onHello(m),
        onPacket: (p) => this.onPacket(p),
        onMessage: (m) => this.emit({ type: 'message', msg: m }),
        onClose: (code, reason) => {
          // the page empties its output now: output the decoder still holds would refill it
          if (this.decoder) this.decoder.reset();
          this.emit({ type: 'close', code, reason, session: this.conn.session });
        },
        // offsets travel as epoch times: a Worker's performance.now() has its own time origin
        onClock: (offsetMs, rttMs) => this.emit({ type: 'clock', offsetEpochMs: offsetMs + performance.timeOrigin, rttMs }),
      }, { base, session });
    }
    this.running = true;
    if (!this.timer) this.timer = setInterval(() => this.sendCounts(), COUNTS_EVERY_MS);
    this.conn.start();
  }

  stop() {
    // Audio the decoder still returns after this would reach an output the page is emptying.
    this.running = false;
    if (this.conn) this.conn.stop();
    if (this.decoder) this.decoder.reset();
    clearInterval(this.timer);
    this.timer = null;
    this.sendCounts();
  }

  send(obj) { return this.conn ? this.conn.send(obj) : false; }

  onHello(m) {
    this.lastSeq = null;
    this.epoch++;
    this.sink.discontinuity();
    if (this.decoder) this.decoder.reset();
    this.emit({ type: 'hello', msg: m, connects: this.conn.connects, session: this.conn.session });
    if (m.codec && m.codec.name && m.codec.name !== 'opus') {
      this.emit({ type: 'error', message: `unsupported codec ${m.codec.name}` });
      return;
    }
    this.ensureDecoder(m.codec);
  }

  ensureDecoder(codec) {
    const rate = (codec && codec.sample_rate) || 48000;
    const channels = (codec && codec.channels) || 2;
    const key = `${rate}/${channels}`;
    if (this.decoderKey === key && (this.decoder || this.decoderInit)) return;
    if (this.decoder) { this.decoder.close(); this.decoder = null; }
    this.decoderKey = key;
    const init = createDecoder({ sampleRate: rate, channels, forceWasm: this.forceWasm, noWasm: this.noWasm, onPcm: (pts, l, r) => {
      if (!this.running) return;
      this.counts.decoded++;
      this.sink.pcm(pts, l, r);
    } });
    this.decoderInit = init;
    init.then((d) => {
      if (this.decoderInit !== init) { d.close(); return; }
      this.decoder = d;
      this.decoderInit = null;
      this.emit({ type: 'decoder', kind: d.kind });
    }).catch((e) => {
      this.decoderInit = null;
      this.decoderKey = '';
      this.emit({ type: 'decoder', kind: 'none', wasm: wasmUsable(), message: String(e.message || e) });
    });
  }

  onPacket(p) {
    const c = this.counts;
    c.packets++;
    const expected = this.lastSeq === null ? p.seq : (this.lastSeq + 1) >>> 0;
    if (p.discontinuity || p.seq !== expected) {
      // Packets were skipped (by the server, flagged; or unflagged, which TCP should never do):
      // no gap concealment, just forget the arrival history so the jump is not taken for jitter.
      if (p.discontinuity) c.discontinuities++; else c.gaps++;
      if (this.lastSeq !== null) this.epoch++;
      this.sink.discontinuity();
      if (this.decoder && this.lastSeq !== null) this.decoder.reset();
    }
    this.lastSeq = p.seq;
    this.anchors.push({ pts: p.pts, captureNs: p.captureNs, epoch: this.epoch });
    if (this.anchors.length > 100) this.anchors.shift();
    // Packets that come while the decoder loads would only reach the output as one stale burst.
    if (this.decoder) this.decoder.decode(p.data, p.pts);
  }

  sendCounts() {
    if (this.decoder) this.counts.decodeErrors = this.decoder.errors;
    this.emit({ type: 'counts', counts: { ...this.counts }, anchors: this.anchors });
    this.anchors = [];
  }
}
