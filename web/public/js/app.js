// app.js — the listener page: UI, and the wiring
//   [stream Worker: WebSocket (connection.js) → Opus decoder (decoder.js)] (pipeline.js,
//   stream-client.js) → playout (output.js: AudioWorklet ring, fed by the Worker directly; or
//   scheduled AudioBufferSourceNodes, fed through this page) → volume GainNode → AnalyserNode →
//   speakers.
// docs/web.md describes the design; window.loopcast is a read-only hook for tests.
import { sessionStore } from './connection.js';
import { StreamClient } from './stream-client.js';
import { WorkletOutput, BufferOutput, ScriptOutput } from './output.js';
import { PAGE_FLOOR } from './playout-core.js';
import { bindMediaSession } from './media-session.js';
import { connectRoute } from './media-route.js';

const $ = (id) => document.getElementById(id);
const STREAM_RATE = 48000;

// ---- volume and mute ---------------------------------------------------------------------------
// Volume is 0–100 on a perceptual (cubic) curve: gain = (v/100)^3, so 50 is −18 dB, 25 is −36 dB,
// 10 is −60 dB and 0 is silence. Both belong to the listener's session on the server
// (docs/protocol.md): the hello and every `session` message set them here (origin 'server'); a
// change made on this page is applied at once and sent as `set` (see "session binding" below).
// localStorage only remembers them for the moment before the first hello.
export function volumeToGain(volume, muted) {
  if (muted) return 0;
  const v = Math.min(100, Math.max(0, volume)) / 100;
  return v * v * v;
}

const controls = {
  volume: 100,
  muted: false,
  listeners: [],
  load() {
    try {
      const v = Number(localStorage.getItem('loopcast.volume'));
      if (localStorage.getItem('loopcast.volume') !== null && v >= 0 && v <= 100) this.volume = v;
      this.muted = localStorage.getItem('loopcast.muted') === '1';
    } catch { /* storage disabled: defaults */ }
  },
  // change: {volume?, muted?}; origin: 'local' (this page's UI) or 'server'
  set(change, origin = 'local') {
    if (typeof change.volume === 'number') this.volume = Math.round(Math.min(100, Math.max(0, change.volume)));
    if (typeof change.muted === 'boolean') this.muted = change.muted;
    try {
      localStorage.setItem('loopcast.volume', String(this.volume));
      localStorage.setItem('loopcast.muted', this.muted ? '1' : '0');
    } catch { /* not persisted */ }
    for (const f of this.listeners) f(this, origin, change);
  },
  onChange(f) { this.listeners.push(f); },
};

// ---- player state ------------------------------------------------------------------------------
const P = {
  ctx: null, gain: null, analyser: null, route: null,
  output: null, outputInit: null,
  client: null, clientInit: null,   // the pipeline (stream-client.js): in the Worker or on the page
  state: 'idle',        // the connection's: idle | connecting | connected | reconnecting | stopped
  connects: 0,
  decoderKind: null,    // webcodecs | wasm | none (none: no decoder works in this browser)
  offsetMs: null,       // performance.now() − server ms (min-RTT filtered), null before a ping
  rttMs: null,
  playing: false,
  counts: { packets: 0, decoded: 0, gaps: 0, discontinuities: 0, decodeErrors: 0 },
  reconnects: 0,
  anchors: [],          // recent {pts, captureNs, epoch}: which stream sample was captured when
  epoch: 0,             // the pipeline's pts epoch the anchors belong to (pipeline.js)
  holdUntil: 0,         // performance.now() until which the output still plays the old epoch
  report: null,         // last output report
  latencyMs: null,
  syncErrorMs: null,    // synchronized playback: measured latency − the server's sync_ms (median)
  syncErrs: [],         // the last readings behind it
  syncGaps: 0,          // the output's count when they were taken
  syncD: 0,             // the delay the readings were taken against (syncChanged)
  streamPending: null,  // {name, until}: a stream this page asked for, not yet confirmed
  hello: null,
  source: null,
  error: '',
};

// The jitter floor the listener chose (?floor=MS, else the settings field's stored value), or
// null: the default (PAGE_FLOOR: 20 ms, adapting down while arrivals are steady; playout-core.js).
function chosenFloorMs() {
  const q = Number(new URLSearchParams(location.search).get('floor'));
  if (q > 0) return Math.min(1000, q);
  try {
    const s = Number(localStorage.getItem('loopcast.floorMs'));
    if (s > 0) return Math.min(1000, s);
  } catch { /* default */ }
  return null;
}
const floorMs = () => chosenFloorMs() ?? PAGE_FLOOR.floorMs;
// A chosen floor is kept as it is; the default one adapts.
const floorOptions = () => (chosenFloorMs() === null ? PAGE_FLOOR : { floorMs: floorMs(), adaptMinMs: 0 });

function buildGraph() {
  const AC = window.AudioContext || window.webkitAudioContext;
  let ctx;
  // ?latency=balanced|playback trades latency for a larger device buffer (measured: docs/web.md)
  const hint = new URLSearchParams(location.search).get('latency');
  const num = Number(hint);
  const latencyHint = ['interactive', 'balanced', 'playback'].includes(hint) ? hint
    : (hint && num > 0 && num <= 1 ? num : 'interactive');
  try { ctx = new AC({ sampleRate: STREAM_RATE, latencyHint }); } catch { ctx = new AC(); }
  P.ctx = ctx;
  P.gain = ctx.createGain();
  P.gain.gain.value = outputGain();
  P.analyser = ctx.createAnalyser();
  P.analyser.fftSize = 8192;
  P.analyser.smoothingTimeConstant = 0;
  P.gain.connect(P.analyser);
  P.route = connectRoute(ctx, P.analyser, $('out'));   // straight out, or via <audio> on phones
  P.freq = new Float32Array(P.analyser.frequencyBinCount);
  P.time = new Float32Array(P.analyser.fftSize);
}

// A listener in a room (docs/protocol.md: the session's group_volume, group_muted) hears its own
// volume curve times the room's: the room turns all its speakers down together and each keeps
// its own balance. Outside a room group_volume is 100 and the room's factor is 1.
function roomGain() {
  const s = P.hello && P.hello.session;
  if (!s || !s.group) return 1;
  return volumeToGain(Number.isFinite(s.group_volume) ? s.group_volume : 100, s.group_muted === true);
}
const outputGain = () => volumeToGain(controls.volume, controls.muted) * roomGain();

function applyGain() {
  if (!P.ctx) return;
  P.gain.gain.setTargetAtTime(outputGain(), P.ctx.currentTime, 0.015);
}

// The output: the AudioWorklet where there is one (secure pages), else scheduled AudioBuffers
// (plain HTTP). `?output=buffers|script` picks a plain-HTTP candidate anywhere (docs/web.md has
// their measurements).
function outputFactory(opts) {
  const want = new URLSearchParams(location.search).get('output');
  if (want === 'script' && ScriptOutput.supported(P.ctx)) return ScriptOutput.create(P.ctx, P.gain, opts);
  if (want !== 'buffers' && WorkletOutput.supported(P.ctx)) {
    return WorkletOutput.create(P.ctx, P.gain, opts).catch((e) => {
      console.warn('AudioWorklet unavailable, using AudioBufferSourceNodes:', e);
      return BufferOutput.create(P.ctx, P.gain, opts);
    });
  }
  return BufferOutput.create(P.ctx, P.gain, opts);
}

async function ensureOutput() {
  if (P.output) return P.output;
  if (!P.outputInit) {
    P.outputInit = outputFactory({ ...floorOptions(), onReport }).then((o) => { P.output = o; return o; });
  }
  return P.outputInit;
}

// The pipeline, once per page: its decoded audio goes straight into the worklet where there is one.
async function ensureClient() {
  if (P.client) return P.client;
  if (!P.clientInit) {
    const port = P.output.kind === 'worklet' ? P.output.sourcePort() : null;
    // What the page lacks (WebCodecs, WebAssembly) the Worker does not use either: one answer
    // for "can this browser decode", which tests can reach from the page.
    const forceWasm = typeof window.AudioDecoder !== 'function';
    const noWasm = typeof window.WebAssembly !== 'object';
    P.clientInit = StreamClient.create({ onMessage: onStream, port, forceWasm, noWasm }).then((c) => { P.client = c; return c; });
  }
  return P.clientInit;
}

// ---- stream events -----------------------------------------------------------------------------
// What the pipeline says (pipeline.js), in order.
function onStream(m) {
  switch (m.type) {
    case 'state': P.state = m.state; render(); break;
    case 'hello':
      P.connects = m.connects;
      if (m.session) sessionStore.set(m.session);
      onHello(m.msg);
      break;
    case 'message': onMessage(m.msg); break;
    case 'close':
      if (!m.session) sessionStore.clear();    // 1008: session forgotten or malformed: a new one
      onClose();
      break;
    case 'clock':
      P.offsetMs = m.offsetEpochMs - performance.timeOrigin;
      P.rttMs = m.rttMs;
      break;
    case 'counts':
      P.counts = m.counts;
      for (const a of m.anchors) {
        if (a.epoch !== P.epoch) newEpoch(a.epoch);
        P.anchors.push(a);
      }
      if (P.anchors.length > 400) P.anchors.splice(0, P.anchors.length - 300);
      break;
    case 'decoder':
      P.decoderKind = m.kind;
      if (m.kind === 'none') showError(`no Opus decoder in this browser: ${m.message}`);
      render();
      break;
    case 'pcm': if (P.output && P.playing) P.output.push(m.pts, m.l, m.r); break;
    case 'discontinuity': if (P.output) P.output.discontinuity(); break;
    case 'error': showError(m.message); break;
    default: break;
  }
}

function onHello(m) {
  P.hello = m;
  // the session's stored settings arrive before any audio: apply them now, not after a settle
  binding.lastLocal = -1e9;
  binding.pending = null;
  applyServerSession(m.session);
  applyRoom(m.session);
  P.source = m.source || null;
  P.anchors = [];
  if (P.connects > 1) P.reconnects++;
  render();
}

// The pts sequence jumped (pipeline.js: a new connection, a discontinuity — another stream, whose
// pts count from elsewhere): the old anchors would map the new pts to wrong capture times. Until
// what the output still held then has played out, what plays is the old epoch's audio, whose
// anchors are gone: no latency readings (nor sync steps) until then.
function newEpoch(epoch) {
  P.epoch = epoch;
  P.anchors = [];
  P.syncErrs = [];
  const held = P.report && Number.isFinite(P.report.fillMs) ? P.report.fillMs : 0;
  P.holdUntil = performance.now() + held + 150;
}

function captureNsFor(pts) {
  const a = P.anchors;
  if (!a.length) return null;
  let best = a[0];
  for (let i = a.length - 1; i >= 0; i--) if (a[i].pts <= pts) { best = a[i]; break; }
  return best.captureNs + (pts - best.pts) * 1e9 / STREAM_RATE;
}

// Context time → performance.now() time at which that sample leaves the output device.
function ctxToPerf(t) {
  const ctx = P.ctx;
  const ts = ctx.getOutputTimestamp ? ctx.getOutputTimestamp() : null;
  if (ts && ts.performanceTime > 0 && ts.contextTime > 0) return ts.performanceTime + (t - ts.contextTime) * 1000;
  return performance.now() + (t - ctx.currentTime + (ctx.outputLatency || 0) + (ctx.baseLatency || 0)) * 1000;
}

function onReport(r) {
  P.report = r;
  if (!r.playAt || P.offsetMs === null || performance.now() < P.holdUntil) return;
  const cap = captureNsFor(r.playAt.pts);
  if (cap === null) return;
  const lat = ctxToPerf(r.playAt.ctxTime) - (cap / 1e6 + P.offsetMs);
  if (!Number.isFinite(lat) || lat < -1000 || lat > 60000) return;
  P.latencyMs = P.latencyMs === null ? lat : P.latencyMs + 0.3 * (lat - P.latencyMs);
  syncStep(r, lat);
}

// The delay the server asks this page to play at: the session's sync_ms where the server sends one
// (in a room, the room's delay, or 0 in a room not kept in step; it changes at run time), else
// the hello's (--sync-ms). 0 = not synchronized.
function serverSyncMs() {
  const h = P.hello;
  if (!h) return 0;
  const s = h.session;
  const v = s && Number.isFinite(s.sync_ms) ? s.sync_ms : h.sync_ms;
  return v > 0 ? v : 0;
}

// The delay this page plays at: serverSyncMs() less the session's latency_trim_ms (a speaker
// with its own delay plays earlier by it); 0 = not synchronized.
function syncDelayMs() {
  const v = serverSyncMs();
  return v ? Math.max(1, v - sessionTrim()) : 0;
}

// The delay changed while the page plays (its room was switched to in-step or back, the room's
// delay or the trim changed). To another delay: the readings taken against the old one are moved
// by the difference, so the next step asks the output for the new fill at once. To 0: the output
// is told now, and goes back to playing as early as it can (playout-core.js setSyncMs(null)).
// From 0: syncStep starts with the next report.
function syncChanged() {
  const D = syncDelayMs(), was = P.syncD;
  if (D === was) return;
  P.syncD = D;
  if (D && was) { P.syncErrs = P.syncErrs.map((e) => e - (D - was)); return; }
  P.syncErrs = [];
  P.syncErrorMs = null;
  if (!D && P.output) P.output.setSyncMs(null);
}

// Synchronized playback (the hello's sync_ms > 0; docs/web.md): the sample captured at T plays at
// T + syncDelayMs() on the server's clock. The latency just measured (capture → leaving the output
// device, through the clock offset and getOutputTimestamp) minus that delay is how late this page
// plays; the output is asked for the fill that closes it (its drift control moves there without a
// sound, a large shortfall is closed with one gap). The median of the last 5 readings, so one odd
// reading does not move the target; readings from before a gap are dropped.
function syncStep(r, lat) {
  const D = syncDelayMs();
  if (!D) {
    if (P.syncErrorMs !== null && P.output) P.output.setSyncMs(null);
    P.syncErrorMs = null;
    return;
  }
  if (r.syncGaps !== P.syncGaps) { P.syncGaps = r.syncGaps; P.syncErrs = []; return; }
  const errs = P.syncErrs;
  errs.push(lat - D);
  if (errs.length > 5) errs.shift();
  P.syncErrorMs = [...errs].sort((a, b) => a - b)[errs.length >> 1];
  if (r.playing && P.output) P.output.setSyncMs(Math.max(0, r.bufferMs - P.syncErrorMs));
}

// worklet | buffers, with "-element" when the audio leaves through the <audio> element route
function outputName() { return P.route && P.route.kind === 'element' ? `${P.output.kind}-element` : P.output.kind; }

function sendStats() {
  if (!P.client || P.state !== 'connected' || !P.report) return;
  const m = {
    type: 'stats',
    buffer_ms: Math.round(P.report.bufferMs),
    underruns: P.report.underruns,
    // where decoding runs is part of the name: webcodecs-worker, wasm-worker, webcodecs, wasm, none
    decoder: P.decoderKind ? (P.decoderKind !== 'none' && P.client.worker ? `${P.decoderKind}-worker` : P.decoderKind) : undefined,
    output: P.output ? outputName() : undefined,
  };
  if (P.latencyMs !== null) m.latency_ms = Math.round(P.latencyMs);
  if (P.syncErrorMs !== null) m.sync_error_ms = Math.round(P.syncErrorMs * 10) / 10;
  P.client.send(m);
}

// ---- play / stop -------------------------------------------------------------------------------
function onPlayClick() {
  if (P.playing) { stop(); return; }
  // Everything up to resume() runs synchronously inside the click: iOS only unlocks audio
  // for a context created or resumed in the gesture itself.
  if (!window.AudioContext && !window.webkitAudioContext) {
    showError('this browser has no Web Audio: it cannot play the stream');
    return;
  }
  if (!P.ctx) buildGraph();
  P.ctx.resume();
  const unlock = P.ctx.createBufferSource();   // old iOS also wants a sound started in the gesture
  unlock.buffer = P.ctx.createBuffer(1, 1, P.ctx.sampleRate);
  unlock.connect(P.ctx.destination);
  unlock.start();
  P.route.play();
  P.playing = true;
  P.error = '';
  render();
  ensureOutput().then(ensureClient).then(() => {
    if (P.playing) P.client.start(location.href, sessionStore.get());
  }).catch((e) => { showError(`audio output: ${e.message || e}`); stop(); });
}

// The lock screen's buttons (media-session.js) do what the page's button does
const media = bindMediaSession({
  play: () => { if (!P.playing) onPlayClick(); },
  stop: () => { if (P.playing) stop(); },
});
// "loopcast on HOST": the server's name for itself where the hello has it, else the address
function mediaTitle() {
  const host = P.hello && P.hello.server && P.hello.server.host;
  return `loopcast on ${host || location.hostname}`;
}

function stop() {
  P.playing = false;
  if (P.client) P.client.stop();
  if (P.output) P.output.reset();
  P.latencyMs = null;
  P.syncErrs = [];
  const ctx = P.ctx;
  if (ctx) setTimeout(() => { if (!P.playing) { ctx.suspend(); P.route.pause(); } }, 60);
  render();
}

function onClose() {
  if (P.output) P.output.reset();    // the rest of the buffer fades out; not an underrun
  P.latencyMs = null;
  P.syncErrs = [];
}

function onMessage(m) {
  if (m.type === 'source') P.source = { uri: m.uri, state: m.state, stream: m.stream };
  else if (m.type === 'session' && m.session && P.hello) {
    P.hello.session = m.session;
    applyServerSession(m.session);
    applyRoom(m.session);
  }
  else if (m.type === 'error') {
    console.warn('loopcast server:', m.code, m.message);
    P.streamPending = null;        // a refused stream switch (in_group, bad_value): show the truth
  }
  render();
}

function showError(msg) { P.error = msg; render(); }

// ---- session binding ---------------------------------------------------------------------------
// The server is the truth for volume and mute (the API or another tab may change them). A change
// on this page is sent as `set`: the first at once, then at most one every SET_EVERY_MS with the
// latest values, so a slider drag is a handful of messages. The server echoes every change to all
// of the session's connections; an echo that arrives while the user is still moving the slider
// would drag it back, so server values wait until the local change has settled.
const SET_EVERY_MS = 100;
const LOCAL_SETTLE_MS = 600;
const binding = { pending: null, timer: 0, lastLocal: -1e9, serverTimer: 0, server: null };

function flushSet() {
  if (binding.pending && P.client) P.client.send({ type: 'set', ...binding.pending });
  binding.pending = null;
}

function sendSet(change) {
  const c = {};
  if (typeof change.volume === 'number') c.volume = Math.round(change.volume);
  if (typeof change.muted === 'boolean') c.muted = change.muted;
  if (typeof change.latency_trim_ms === 'number') c.latency_trim_ms = Math.round(change.latency_trim_ms);
  binding.lastLocal = performance.now();
  binding.pending = { ...(binding.pending || {}), ...c };
  if (binding.timer) return;
  flushSet();
  binding.timer = setTimeout(function tick() {
    binding.timer = 0;
    if (binding.pending) { flushSet(); binding.timer = setTimeout(tick, SET_EVERY_MS); }
  }, SET_EVERY_MS);
}

function applyServerSession(s) {
  if (!s || typeof s.volume !== 'number') return;
  binding.server = s;
  const wait = binding.lastLocal + LOCAL_SETTLE_MS - performance.now();
  clearTimeout(binding.serverTimer);
  if (wait > 0 || binding.pending) {
    binding.serverTimer = setTimeout(() => applyServerSession(binding.server), Math.max(wait, SET_EVERY_MS));
    return;
  }
  if (s.volume !== controls.volume || s.muted !== controls.muted)
    controls.set({ volume: s.volume, muted: s.muted }, 'server');
}

// ---- stream and room ---------------------------------------------------------------------------
// Which stream the page hears, and its room, are the session's (the server's truth, like volume);
// unlike volume they are not the listener's to drag, so the server's values apply at once: the
// room's volume and mute scale the output (roomGain), its delay is the one to play at.
function applyRoom(s) {
  if (!s) return;
  if (P.streamPending && s.stream === P.streamPending.name) P.streamPending = null;
  applyGain();
  syncChanged();
}

const currentStream = () => (P.hello && P.hello.session && P.hello.session.stream) || null;
const helloStreams = () => (P.hello && Array.isArray(P.hello.streams) ? P.hello.streams : []);

// The listener picks a stream (Settings): asked of the server as `set`; the select shows the
// choice until the server confirms it (a `session` message) or refuses it, 3 s at most.
function onStreamPick() {
  const name = $('stream').value;
  if (!P.client || P.state !== 'connected' || name === currentStream()) return;
  P.streamPending = { name, until: performance.now() + 3000 };
  P.client.send({ type: 'set', stream: name });
  render();
}

function renderStream() {
  const h = P.hello, s = h && h.session;
  const names = helloStreams().map((x) => x.name);
  const grouped = !!(s && s.group);
  // one stream (the usual server): nothing to choose, nothing worth showing
  $('stream-row').hidden = $('stream-field').hidden = names.length < 2;
  $('stream-now').textContent = currentStream() || '–';
  $('room-row').hidden = !grouped;
  if (grouped) {
    const gv = Number.isFinite(s.group_volume) ? s.group_volume : 100;
    $('room').textContent = (s.group_name || 'unnamed room') +
      (s.group_muted ? ' (muted)' : gv < 100 ? ` (volume ${gv})` : '');
  }
  const sel = $('stream');
  const key = names.join('\n');
  if (sel.dataset.names !== key) {
    sel.replaceChildren(...names.map((n) => new Option(n, n)));
    sel.dataset.names = key;
  }
  if (P.streamPending && performance.now() > P.streamPending.until) P.streamPending = null;
  const want = P.streamPending ? P.streamPending.name : currentStream();
  if (want !== null && sel.value !== want) sel.value = want;
  sel.disabled = grouped || P.state !== 'connected';
  $('stream-hint').textContent = grouped ? `set by the room ${s.group_name || ''}`.trimEnd()
    : 'Which of the server\'s streams this listener hears.';
}

// ---- UI ----------------------------------------------------------------------------------------
const STATE_TEXT = {
  idle: 'Stopped', connecting: 'Connecting…', connected: 'Live', reconnecting: 'Reconnecting…', stopped: 'Stopped',
};

const DECODER_TEXT = { webcodecs: 'WebCodecs', wasm: 'WASM', none: 'none' };

// The session's latency_trim_ms as the server last said it (0 before the hello).
function sessionTrim() {
  const s = P.hello && P.hello.session;
  return s && Number.isFinite(s.latency_trim_ms) ? s.latency_trim_ms : 0;
}

function fmtMs(x) { return x === null || x === undefined || !Number.isFinite(x) ? '–' : `${Math.round(x)} ms`; }

function render() {
  const state = P.state;
  const pill = $('conn');
  pill.textContent = STATE_TEXT[state] || state;
  pill.dataset.state = state;
  const play = $('play');
  play.setAttribute('aria-pressed', P.playing ? 'true' : 'false');
  $('play-label').textContent = P.playing ? 'Stop' : 'Play';
  const r = P.report;
  $('latency').textContent = P.playing ? fmtMs(P.latencyMs) : '–';
  if (document.activeElement !== $('trim')) $('trim').value = String(sessionTrim());
  // synchronized playback (--sync-ms): the delay this page plays at, and how far off it is
  const D = syncDelayMs();
  $('sync-row').hidden = !D;
  if (D) {
    const e = P.syncErrorMs, short = r && r.syncShortMs > 0;
    $('sync').textContent = !P.playing || e === null ? `${D} ms delay`
      : short ? `${D} ms delay: too short here, ${Math.round(e)} ms late`
        : `${D} ms delay, ${e >= 0 ? '+' : '−'}${Math.abs(e).toFixed(1)} ms`;
  }
  $('buffer').textContent = P.playing && r && Number.isFinite(r.bufferMs) ? `${Math.round(r.bufferMs)} / ${fmtMs(r.targetMs)}` : '–';
  $('jitter').textContent = P.playing && r ? fmtMs(r.jitterMs) : '–';
  $('underruns').textContent = r ? String(r.underruns) : '0';
  $('decoder').textContent = P.decoderKind || P.output
    ? `${P.decoderKind ? DECODER_TEXT[P.decoderKind] : '…'}${P.client && P.client.worker ? ' (worker)' : ''} · ${P.output ? outputName() : '…'}`
    : '–';
  renderStream();
  $('source').textContent = P.source ? `${P.source.uri || ''} ${P.source.state ? '(' + P.source.state + ')' : ''}`.trim() : '–';
  const h = P.hello;
  $('session').textContent = h && h.session ? `session ${String(h.session.id).slice(0, 8)}` : 'session –';
  $('server').textContent = h && h.server ? `loopcast ${h.server.version}` : '';
  $('volume').value = String(controls.volume);
  $('volume-value').textContent = String(controls.volume);
  const mute = $('mute');
  mute.setAttribute('aria-pressed', controls.muted ? 'true' : 'false');
  mute.textContent = controls.muted ? 'Unmute' : 'Mute';
  const msg = $('message');
  msg.textContent = P.error;
  msg.hidden = !P.error;
  media.update(P.playing, mediaTitle());
}

function meterLoop() {
  const bar = $('meter-bar');
  const tick = () => {
    let level = 0;
    if (P.analyser && P.playing) {
      const db = 20 * Math.log10(rms() || 1e-9);
      level = Math.min(1, Math.max(0, (db + 60) / 60));       // −60 dBFS … 0 dBFS
    }
    bar.style.transform = `scaleX(${level.toFixed(3)})`;      // CSSOM, allowed by style-src 'self'
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}

function rms() {
  if (!P.analyser) return 0;
  P.analyser.getFloatTimeDomainData(P.time);
  let s = 0;
  for (let i = 0; i < P.time.length; i++) s += P.time[i] * P.time[i];
  return Math.sqrt(s / P.time.length);
}

function dominantHz() {
  if (!P.analyser) return null;
  P.analyser.getFloatFrequencyData(P.freq);
  let best = 3, bestDb = -Infinity;                             // skip DC
  for (let i = 3; i < P.freq.length; i++) if (P.freq[i] > bestDb) { bestDb = P.freq[i]; best = i; }
  return bestDb === -Infinity ? null : best * P.ctx.sampleRate / P.analyser.fftSize;
}

// Read-only test hook (tests/browser/player.test.mjs).
Object.defineProperty(window, 'loopcast', {
  enumerable: true, configurable: false, writable: false,
  value: Object.freeze({
    get state() { return P.state; },
    get playing() { return P.playing; },
    get decoder() { return P.decoderKind; },
    get worker() { return P.client ? P.client.worker : null; },   // decoding runs in a Worker
    get output() { return P.output ? P.output.kind : null; },
    get route() { return P.route ? P.route.kind : null; },        // direct | element (<audio>)
    get packets() { return P.counts.packets; },
    get decoded() { return P.counts.decoded; },
    get underruns() { return P.report ? P.report.underruns : 0; },
    get bufferMs() { return P.report ? P.report.bufferMs : null; },
    get fillMs() { return P.report ? P.report.fillMs : null; },
    get targetMs() { return P.report ? P.report.targetMs : null; },
    get jitterMs() { return P.report ? P.report.jitterMs : null; },
    get lateMs() { return P.report ? P.report.lateMs : null; },
    get corrections() { return P.report ? { dropped: P.report.dropped, inserted: P.report.inserted, skips: P.report.skips, cutMs: P.report.cutMs } : null; },
    get latencyMs() { return P.latencyMs; },
    get syncMs() { return serverSyncMs(); },          // the session's, else the hello's
    get syncDelayMs() { return syncDelayMs(); },      // ... less the session's latency_trim_ms
    get syncErrorMs() { return P.syncErrorMs; },      // how late this page plays against sync_ms
    get syncShortMs() { return P.report ? P.report.syncShortMs : null; }, // > 0: delay too short for this page's jitter
    get syncGaps() { return P.report ? P.report.syncGaps : 0; },
    get rttMs() { return P.rttMs; },
    get reconnects() { return P.reconnects; },
    get gaps() { return P.counts.gaps; },
    get discontinuities() { return P.counts.discontinuities; },
    get decodeErrors() { return P.counts.decodeErrors; },
    get session() { return sessionStore.get(); },
    get volume() { return controls.volume; },
    get gain() { return outputGain(); },              // the output gain: own volume × room's
    get stream() { return currentStream(); },         // the stream this page hears
    get streams() { return helloStreams().map((x) => x.name); },
    get streamDisabled() { return document.getElementById('stream').disabled; },
    get group() { const s = P.hello && P.hello.session; return (s && s.group) || null; },
    get groupName() { const s = P.hello && P.hello.session; return (s && s.group && s.group_name) || null; },
    get muted() { return controls.muted; },
    get sliderValue() { return Number(document.getElementById('volume').value); },
    get sampleRate() { return P.ctx ? P.ctx.sampleRate : null; },
    get binHz() { return P.ctx ? P.ctx.sampleRate / P.analyser.fftSize : null; },
    get mediaSession() {
      const ms = navigator.mediaSession;
      return ms ? { actions: media.actions, playbackState: ms.playbackState,
        title: ms.metadata ? ms.metadata.title : null,
        artwork: ms.metadata ? ms.metadata.artwork.map((a) => a.src) : [] } : null;
    },
    mediaAction: (action) => media.run(action),   // what the OS calls on a lock-screen button
    dominantHz,
    rms,
  }),
});

function init() {
  controls.load();
  controls.onChange((c, origin, change) => {
    applyGain();
    render();
    if (origin === 'local') sendSet(change);
  });
  $('play').addEventListener('click', onPlayClick);
  $('volume').addEventListener('input', (e) => controls.set({ volume: Number(e.target.value) }));
  $('mute').addEventListener('click', () => controls.set({ muted: !controls.muted }));
  $('stream').addEventListener('change', onStreamPick);
  const trim = $('trim');
  trim.addEventListener('change', () => {
    const v = Number(trim.value);
    if (!(Number.isInteger(v) && v >= -1000 && v <= 1000)) { trim.value = String(sessionTrim()); return; }
    sendSet({ latency_trim_ms: v });
  });
  const floor = $('floor');
  floor.value = String(floorMs());
  floor.addEventListener('change', () => {
    const v = Number(floor.value);
    if (!(v >= 5 && v <= 1000)) { floor.value = String(floorMs()); return; }
    try { localStorage.setItem('loopcast.floorMs', String(v)); } catch { /* session only */ }
    if (P.output) P.output.setFloorMs(v);
  });
  setInterval(render, 250);
  setInterval(sendStats, 2000);
  meterLoop();
  render();
}

init();
