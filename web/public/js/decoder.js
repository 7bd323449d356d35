// decoder.js — Opus packets → decoded stereo Float32Arrays, by one of two decoders:
//   'webcodecs': WebCodecs AudioDecoder ({codec:'opus', sampleRate:48000, numberOfChannels:2},
//                no description; every packet an EncodedAudioChunk of type 'key', timestamp =
//                pts in µs). Secure contexts only, where isConfigSupported() says yes.
//   'wasm':      the npm opus-decoder (pinned in web/package-lock.json), its synchronous
//                OpusDecoder, WASM inlined in its UMD build, served by the binary at /vendor/ and
//                loaded with import() (the UMD then sets globalThis['opus-decoder']).
// No DOM: it runs in the stream Worker (stream-worker.js), or on the page where no Worker starts.
// WebCodecs exists in dedicated Workers of secure contexts, so the Worker decodes on both paths.
// createDecoder() resolves to {kind, decode(bytes, pts), reset(), close(), errors}; decoded audio goes to
// onPcm(pts, left, right) in stream order.

const US_PER_SAMPLE = 1e6 / 48000;

// forceWasm / noWasm: the page lacks WebCodecs / WebAssembly, so the Worker should not use its own.
export async function createDecoder({ sampleRate = 48000, channels = 2, onPcm, forceWasm = false, noWasm = false }) {
  if (!forceWasm && await webCodecsUsable(sampleRate, channels)) {
    return new WebCodecsDecoder(sampleRate, channels, onPcm);
  }
  if (noWasm) throw new Error('this browser has neither WebCodecs nor WebAssembly');
  return WasmDecoder.create(sampleRate, channels, onPcm);
}

async function webCodecsUsable(sampleRate, channels) {
  if (typeof globalThis.AudioDecoder !== 'function' || typeof globalThis.EncodedAudioChunk !== 'function') return false;
  try {
    const r = await AudioDecoder.isConfigSupported({ codec: 'opus', sampleRate, numberOfChannels: channels });
    return !!r.supported;
  } catch {
    return false;
  }
}

class WebCodecsDecoder {
  constructor(sampleRate, channels, onPcm) {
    this.kind = 'webcodecs';
    this.config = { codec: 'opus', sampleRate, numberOfChannels: channels };
    this.onPcm = onPcm;
    this.errors = 0;
    this.open();
  }

  open() {
    this.dec = new AudioDecoder({
      output: (ad) => this.output(ad),
      // A decoder error closes the AudioDecoder: count it and start a fresh one (the next
      // packet is a key chunk like every other, so nothing else is lost).
      error: () => { this.errors++; this.dec = null; },
    });
    this.dec.configure(this.config);
  }

  output(ad) {
    try {
      const n = ad.numberOfFrames, ch = ad.numberOfChannels;
      const l = new Float32Array(n), r = new Float32Array(n);
      if (ad.format === 'f32-planar') {
        ad.copyTo(l, { planeIndex: 0 });
        ad.copyTo(r, { planeIndex: ch > 1 ? 1 : 0 });
      } else {
        // Ask for a planar copy; browsers without conversion support get the interleaved one.
        try {
          ad.copyTo(l, { planeIndex: 0, format: 'f32-planar' });
          ad.copyTo(r, { planeIndex: ch > 1 ? 1 : 0, format: 'f32-planar' });
        } catch {
          const all = new Float32Array(n * ch);
          ad.copyTo(all, { planeIndex: 0, format: 'f32' });
          for (let i = 0; i < n; i++) { l[i] = all[i * ch]; r[i] = all[i * ch + (ch > 1 ? 1 : 0)]; }
        }
      }
      this.onPcm(Math.round(ad.timestamp / US_PER_SAMPLE), l, r);
    } finally {
      ad.close();
    }
  }

  decode(bytes, pts) {
    if (!this.dec || this.dec.state === 'closed') this.open();
    this.dec.decode(new EncodedAudioChunk({ type: 'key', timestamp: Math.round(pts * US_PER_SAMPLE), data: bytes }));
  }

  // The pts sequence jumps (a new connection, packets the server skipped). Chromium's AudioDecoder
  // stamps its output from the first chunk's timestamp on, counting frames, and ignores later
  // jumps: without a reset the output kept the old stream's timestamps after a reconnect and the
  // page's latency figure was gone for good. reset() also drops output still queued for the old
  // stream, which would only reach the output late.
  reset() {
    if (this.dec && this.dec.state === 'configured') {
      this.dec.reset();
      this.dec.configure(this.config);
    }
  }

  close() {
    if (this.dec && this.dec.state !== 'closed') this.dec.close();
    this.dec = null;
  }
}

let scriptLoad = null;
function loadDecoderScript() {
  if (globalThis['opus-decoder']) return Promise.resolve();
  if (!scriptLoad) {
    scriptLoad = import(new URL('../vendor/opus-decoder.min.js', import.meta.url).href).then(() => {
      if (!globalThis['opus-decoder']) throw new Error('the WASM Opus decoder script defined nothing');
    }).catch((e) => {
      scriptLoad = null;
      throw new Error(`could not load the WASM Opus decoder (${e.message || e})`);
    });
  }
  return scriptLoad;
}

// Whether WebAssembly can run here at all (a page with none gets 'none', said on the page).
export function wasmUsable() {
  return typeof WebAssembly === 'object' && typeof WebAssembly.instantiate === 'function';
}

class WasmDecoder {
  static async create(sampleRate, channels, onPcm) {
    if (!wasmUsable()) throw new Error('this browser has neither WebCodecs nor WebAssembly: no Opus decoder');
    await loadDecoderScript();
    const dec = new globalThis['opus-decoder'].OpusDecoder({ sampleRate, channels, preSkip: 0 });
    await dec.ready;
    return new WasmDecoder(dec, onPcm);
  }

  constructor(dec, onPcm) {
    this.kind = 'wasm';
    this.dec = dec;
    this.onPcm = onPcm;
    this.errors = 0;
  }

  decode(bytes, pts) {
    const { channelData, samplesDecoded, errors } = this.dec.decodeFrame(bytes);
    if (errors && errors.length) this.errors += errors.length;
    if (!samplesDecoded) return;
    // Copies that own their buffers, so they can be transferred to the worklet.
    const l = channelData[0].slice(0, samplesDecoded);
    const r = (channelData[1] || channelData[0]).slice(0, samplesDecoded);
    this.onPcm(pts, l, r);
  }

  reset() { /* output is stamped with the pts it was given: nothing carries over */ }

  close() { this.dec.free(); }
}
