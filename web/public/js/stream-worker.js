// stream-worker.js — the dedicated module Worker the page starts (app.js, StreamClient): it runs
// the pipeline (WebSocket → sequence check → Opus decoder, pipeline.js) off the page's main
// thread, so a page busy with layout, a GC or a slow script delays neither the socket nor the
// decoder. Messages from the page:
//   {type:'init', port?, forceWasm, noWasm}  port: a MessagePort into the AudioWorklet (secure path); decoded
//                                     audio then goes there directly. Without one it comes back to
//                                     the page as {type:'pcm'} (scheduled AudioBuffers).
//   {type:'start', base, session}, {type:'stop'}, {type:'send', obj}
// Everything else the pipeline says goes to the page as it is (pipeline.js lists it).
import { Pipeline } from './pipeline.js';

let pipe = null;

function sinkTo(target) {
  return {
    pcm: (pts, l, r) => target.postMessage({ type: 'pcm', pts, l, r }, [l.buffer, r.buffer]),
    discontinuity: () => target.postMessage({ type: 'discontinuity' }),
  };
}

self.onmessage = (e) => {
  const m = e.data;
  switch (m.type) {
    case 'init':
      if (!pipe) {
        pipe = new Pipeline({ emit: (msg) => self.postMessage(msg), sink: sinkTo(m.port || self), forceWasm: !!m.forceWasm, noWasm: !!m.noWasm });
      }
      break;
    case 'start': if (pipe) pipe.start(m); break;
    case 'stop': if (pipe) pipe.stop(); break;
    case 'send': if (pipe) pipe.send(m.obj); break;
    default: break;
  }
};
// Errors nobody caught here would otherwise vanish into the Worker's console: tell the page.
self.onerror = (e) => { self.postMessage({ type: 'error', message: `stream worker: ${e.message || e}` }); };
self.onunhandledrejection = (e) => {
  self.postMessage({ type: 'error', message: `stream worker: ${(e.reason && e.reason.message) || e.reason}` });
};
// Loaded (every import resolved): the page now routes the stream here.
self.postMessage({ type: 'ready' });
