// decoder.js — Opus packets → decoded stereo Float32Arrays, by one of two decoders:
//   'webcodecs': WebCodecs AudioDecoder ({codec:'opus', sampleRate:48000, numberOfChannels:2},
//                no description; every packet an EncodedAudioChunk of type 'key', timestamp =
//                pts in µs). Secure contexts only, where isConfigSupported() says yes.
//   'wasm':      the npm opus-decoder (pinned in web/package-lock.json), main-thread OpusDecoder,
//                WASM inlined in its UMD build, served by the binary at /vendor/.
// createDecoder() resolves to {kind, decode(bytes, pts), close(), errors}; decoded audio goes to
// onPcm(pts, left, right) in stream order.

const US_PER_SAMPLE = 1e6 / 48000;

export async function createDecoder({ sampleRate = 48000, channels = 2, onPcm, forceWasm = false }) {
  if (!forceWasm && await webCodecsUsable(sampleRate, channels)) {
    return new WebCodecsDecoder(sampleRate, channels, onPcm);
  }
  return WasmDecoder.create(sampleRate, channels, onPcm);
}

async function webCodecsUsable(sampleRate, channels) {
  if (typeof window.AudioDecoder !== 'function' || typeof window.EncodedAudioChunk !== 'function') return false;
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

  close() {
    if (this.dec && this.dec.state !== 'closed') this.dec.close();
    this.dec = null;
  }
}

let scriptLoad = null;
function loadDecoderScript() {
  if (window['opus-decoder']) return Promise.resolve();
  if (!scriptLoad) {
    scriptLoad = new Promise((resolve, reject) => {
      const s = document.createElement('script');
      s.src = new URL('../vendor/opus-decoder.min.js', import.meta.url).href;
      s.charset = 'utf-8';
      s.onload = () => resolve();
      s.onerror = () => { scriptLoad = null; reject(new Error('could not load the WASM Opus decoder')); };
      document.head.appendChild(s);
    });
  }
  return scriptLoad;
}

class WasmDecoder {
  static async create(sampleRate, channels, onPcm) {
    await loadDecoderScript();
    const dec = new window['opus-decoder'].OpusDecoder({ sampleRate, channels, preSkip: 0 });
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

  close() { this.dec.free(); }
}
