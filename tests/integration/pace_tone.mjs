// pace_tone.mjs FIFO FREQ SECONDS [RATE] [CHANNELS]
// Writes a sine as raw s16le PCM into FIFO at real-time pace (10 ms chunks on absolute
// deadlines, kept ~40 ms ahead), the way a music player feeding snapfifo would.
import fs from 'node:fs';

const [path, freqS, secsS, rateS = '48000', chS = '2'] = process.argv.slice(2);
if (!path || !freqS || !secsS) {
  console.error('usage: pace_tone.mjs FIFO FREQ SECONDS [RATE] [CHANNELS]');
  process.exit(2);
}
const freq = Number(freqS), secs = Number(secsS), rate = Number(rateS), ch = Number(chS);
const fd = fs.openSync(path, 'w');            // blocks until loopcast opens the FIFO
const chunk = Math.round(rate / 100);
const buf = Buffer.alloc(chunk * ch * 2);
let n = 0;
const t0 = performance.now();
const total = Math.round(secs * rate);
function tick() {
  const due = Math.min(total, Math.round(((performance.now() - t0) / 1000 + 0.04) * rate));
  while (n < due) {
    for (let i = 0; i < chunk; i++, n++) {
      const v = Math.round(Math.sin((2 * Math.PI * freq * n) / rate) * 16000);
      for (let c = 0; c < ch; c++) buf.writeInt16LE(v, (i * ch + c) * 2);
    }
    try { fs.writeSync(fd, buf); } catch (e) { if (e.code === 'EPIPE') process.exit(0); throw e; }
  }
  if (n >= total) { fs.closeSync(fd); return; }
  setTimeout(tick, 5);
}
tick();
