// stream-client.js — the page's handle on the pipeline (pipeline.js): in the stream Worker
// (stream-worker.js) wherever a module Worker starts, else on the page itself (old browsers; a
// Worker the CSP or an extension blocks). Same messages either way:
//   const c = await StreamClient.create({ onMessage, port, forceWasm, noWasm });
//   c.start(base, session); c.stop(); c.send(obj); c.worker (true: decoding runs in the Worker)
// onMessage(msg) gets what pipeline.js emits, plus {type:'pcm', pts, l, r} and
// {type:'discontinuity'} when there is no `port` (the page schedules the audio itself). `port`:
// a MessagePort into the AudioWorklet, where decoded audio then goes directly.
import { Pipeline } from './pipeline.js';

const WORKER_START_MS = 3000;   // a module Worker that has not said 'ready' by then never will

export class StreamClient {
  static async create({ onMessage, port = null, forceWasm = false, noWasm = false }) {
    const w = await startWorker(onMessage);
    if (w) {
      w.postMessage({ type: 'init', port, forceWasm, noWasm }, port ? [port] : []);
      return new StreamClient(w, null);
    }
    const sink = port
      ? { pcm: (pts, l, r) => port.postMessage({ type: 'pcm', pts, l, r }, [l.buffer, r.buffer]),
        discontinuity: () => port.postMessage({ type: 'discontinuity' }) }
      : { pcm: (pts, l, r) => onMessage({ type: 'pcm', pts, l, r }),
        discontinuity: () => onMessage({ type: 'discontinuity' }) };
    return new StreamClient(null, new Pipeline({ emit: onMessage, sink, forceWasm, noWasm }));
  }

  constructor(worker, pipe) {
    this.w = worker;
    this.pipe = pipe;
    this.worker = !!worker;
  }

  start(base, session) {
    if (this.w) this.w.postMessage({ type: 'start', base, session });
    else this.pipe.start({ base, session });
  }

  stop() {
    if (this.w) this.w.postMessage({ type: 'stop' });
    else this.pipe.stop();
  }

  send(obj) {
    if (this.w) this.w.postMessage({ type: 'send', obj });
    else this.pipe.send(obj);
  }
}

// Resolves to a Worker that loaded (it says 'ready'), or null: no Worker, no module Workers (an
// old browser loads the file as a classic script and fails on `import`), or blocked.
function startWorker(onMessage) {
  if (typeof Worker !== 'function') return Promise.resolve(null);
  return new Promise((resolve) => {
    let w;
    const give = (ok, why) => {
      clearTimeout(timer);
      if (!ok) {
        if (w) w.terminate();
        console.warn(`loopcast: decoding on the page (${why})`);
        resolve(null);
        return;
      }
      w.onmessage = (e) => onMessage(e.data);
      w.onerror = (e) => onMessage({ type: 'error', message: `stream worker: ${e.message || 'failed'}` });
      resolve(w);
    };
    const timer = setTimeout(() => give(false, 'the stream worker did not start'), WORKER_START_MS);
    try {
      w = new Worker(new URL('./stream-worker.js', import.meta.url), { type: 'module', name: 'loopcast-stream' });
    } catch (e) {
      give(false, String(e.message || e));
      return;
    }
    w.onmessage = (e) => { if (e.data && e.data.type === 'ready') give(true); };
    w.onerror = (e) => { e.preventDefault(); give(false, e.message || 'the stream worker failed to load'); };
  });
}
