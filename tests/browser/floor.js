// floor.js — plays a 20 ms 1 kHz burst the moment a WebSocket message arrives.
document.getElementById('go').addEventListener('click', () => {
  const ctx = new AudioContext({ sampleRate: 48000, latencyHint: 'interactive' });
  ctx.resume();
  const ws = new WebSocket(`ws://${location.host}/ws`);
  ws.onmessage = () => {
    const t = ctx.currentTime;
    const osc = ctx.createOscillator();
    osc.frequency.value = 1000;
    const g = ctx.createGain();
    g.gain.value = 0.5;
    osc.connect(g).connect(ctx.destination);
    osc.start(t);
    osc.stop(t + 0.02);
  };
  window.floorReady = new Promise((r) => { ws.onopen = r; });
});
