// playout-worklet.js — the AudioWorkletProcessor 'loopcast-playout' (secure contexts): hosts the
// ring playout (playout-ring.js) on the audio thread. Decoded audio comes from the stream Worker
// over the port the page hands it ({type:'source', port}) or from the page ({type:'pcm'}, buffers
// transferred); every ~100 ms it reports {type:'stats', ...ring.stats()} to the page.
import { RingPlayout } from './playout-ring.js';
import { SmoothClock, wallMs } from './playout-core.js';

class LoopcastPlayout extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const o = (options && options.processorOptions) || {};
    this.ring = new RingPlayout({ floorMs: o.floorMs || 20, adaptMinMs: o.adaptMinMs || 0, rate: sampleRate });
    // Arrivals are stamped with a step-free clock, not with currentFrame, which stands still
    // between the bursts in which the audio thread renders a device period (playout-core.js).
    this.clock = new SmoothClock({ rate: sampleRate });
    this.source = null;       // the stream Worker's MessagePort, once the page hands it over
    this.nextReport = 0;
    this.port.onmessage = (e) => this.onMessage(e.data);
  }

  onMessage(m) {
    if (m.type === 'source' && m.port) {
      // The stream Worker's port (output.js sourcePort): decoded audio straight from the Worker.
      if (this.source) this.source.close();
      this.source = m.port;
      this.source.onmessage = (e) => this.onMessage(e.data);
      return;
    }
    const w = wallMs();
    const now = this.clock.now(w);
    if (now === null) this.ring.onMessage(m, currentFrame);
    else this.ring.onMessage(m, now, this.clock.ahead(w));
  }

  process(inputs, outputs) {
    const out = outputs[0];
    this.ring.render(out[0], out[1] || out[0], currentFrame);
    this.clock.observe(currentFrame + 128, wallMs());
    if (currentFrame >= this.nextReport) {
      this.nextReport = currentFrame + 4800;
      // the next sample out plays at the next quantum's first frame
      this.port.postMessage({ type: 'stats', ...this.ring.stats(currentFrame + 128) });
    }
    return true;
  }
}

registerProcessor('loopcast-playout', LoopcastPlayout);
