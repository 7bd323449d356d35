// fault_source.mjs MODE PORT TOKEN — the capture source goes away and comes back under a running
// loopcast (started by fault_source_test.sh), with two audio listeners and an events client
// connected throughout:
//   pipe   the FIFO's writer (pace_tone.mjs) is killed -9; later a new writer starts
//          (env LC_FIFO, LC_PACE)
//   pulse  the PulseAudio daemon behind `--source loopback` is killed -9; later a new daemon
//          starts playing another tone (env LC_WORK: default.pa and t<FREQ>.wav; XDG_RUNTIME_DIR)
//   file   the WAV behind `--source file:` is deleted while it plays; later a new file with
//          another tone is put at the same path (env LC_FILE)
// pipe mode first pauses the writer (SIGSTOP, FIFO kept open) for 2.6 s: a stall, not a loss.
// Checked, each from what is observed: before — both listeners decode tone A, /readyz 200;
// after the loss — the events socket pushes `source` with a non-running state, /readyz 503 with
// a reason naming it, both listeners keep receiving packets (≥ 80 % of the packet rate, no gap
// over 500 ms) that decode as silence; after the return — `source` running, /readyz 200, both
// listeners decode tone B, on the same connections (none closed), capture reopens ≥ 1.
// env LC_DECODER = lc-fault-decode. Prints PASS/FAIL lines; exit 0 only if all held.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import {
  now, sleep, fail, pass, failures, waitFor, listener, hears, silent, flow, describe, events,
  readyz, metric,
} from './fault_lib.mjs';

const [mode, portS, token] = process.argv.slice(2);
const base = `127.0.0.1:${portS}`;
const A = mode === 'pulse' ? 1000 : 440, B = mode === 'pulse' ? 1500 : 660;
const children = new Set();
const pidFile = process.env.LC_PIDFILE;
function track(p) {
  children.add(p);
  if (pidFile) fs.appendFileSync(pidFile, `${p.pid}\n`);
  p.on('exit', () => children.delete(p));
  return p;
}
process.on('exit', () => { for (const p of children) try { p.kill('SIGKILL'); } catch {} });

// ---- the source, per mode ----------------------------------------------------------------------
let src = null; // {procs: [...]}
async function startSource(freq) {
  if (mode === 'file') {
    // a 1 s WAV put in place at once (rename), as a copy or an editor's save would
    const f = process.env.LC_FILE;
    execFileSync('sox', ['-n', '-r', '48000', '-c', '2', '-b', '16', `${f}.new.wav`, 'synth', '1',
      'sine', String(freq), 'vol', '0.5']);
    fs.renameSync(`${f}.new.wav`, f);
    src = { file: f, procs: [] };
    return true;
  }
  if (mode === 'pipe') {
    const w = track(spawn(process.execPath, [process.env.LC_PACE, process.env.LC_FIFO, String(freq), '600'],
      { stdio: 'inherit' }));
    src = { procs: [w] };
    return true;
  }
  const work = process.env.LC_WORK;
  const log = fs.openSync(`${work}/pulse.log`, 'a');
  const pa = track(spawn('pulseaudio', ['-n', '-F', `${work}/default.pa`, '--daemonize=no',
    '--exit-idle-time=-1', '--use-pid-file=no', '--log-target=stderr'], { stdio: ['ignore', log, log] }));
  const up = await waitFor(() => {
    try { execFileSync('pactl', ['info'], { stdio: 'ignore' }); return true; } catch { return false; }
  }, 10000);
  if (!up) { fail('pulseaudio did not come up (see pulse.log)'); return false; }
  const play = track(spawn('paplay', [`${work}/t${freq}.wav`], { stdio: ['ignore', log, log] }));
  src = { procs: [pa, play] };
  return true;
}
function killSource() {
  if (src?.file) try { fs.unlinkSync(src.file); } catch {}
  for (const p of src?.procs || []) try { p.kill('SIGKILL'); } catch {}
  src = null;
}

// ---- run ---------------------------------------------------------------------------------------
const frameMs = 20; // loopcast's default --frame-ms; the server is started with it
const rate = 1000 / frameMs;
if (!(await startSource(A))) process.exit(1);
const Ls = [listener(base, process.env.LC_DECODER, 'L1'), listener(base, process.env.LC_DECODER, 'L2')];
const E = await events(base, token);
if (!(await Promise.all(Ls.map((L) => L.open()))).every(Boolean)) { fail('listeners could not connect'); process.exit(1); }
const hello = await waitFor(() => E.find((j) => j.type === 'hello'), 3000);
if (!hello) { fail('no hello on the events socket'); process.exit(1); }

const t0 = now();
// the first capture after a sound server starts can take a few seconds to flow
if (!(await waitFor(() => Ls.every((L) => hears(L, A, t0)), 15000)))
  fail(`before the loss: listeners do not hear ${A} Hz (${Ls.map((L) => describe(L, t0)).join(' | ')})`);
else pass(`before the loss: both listeners decode ${A} Hz`);
const r0 = await waitFor(async () => { const r = await readyz(base); return r.status === 200 ? r : null; }, 5000);
if (!r0) fail('before the loss: /readyz is not 200');
const reopens0 = await metric(base, 'loopcast_capture_reopens_total');

// -- pipe only: the writer pauses with the FIFO still open (a paused player): the source is
// stalled, not lost — it stays `running`, /readyz stays 200, and keep-alive silence flows.
if (mode === 'pipe') {
  const w = src.procs[0];
  w.kill('SIGSTOP');
  const tp = now();
  await sleep(600); // the stall is declared at 250 ms
  const p0 = now();
  await sleep(2000);
  for (const L of Ls) {
    const f = flow(L, p0, now());
    const want = 0.8 * 2 * rate;
    if (f.n < want || f.gap > 500) fail(`${L.name} while the writer is paused: ${f.n} packets in 2 s (want ≥ ${want}), longest gap ${f.gap.toFixed(0)} ms`);
    else pass(`${L.name} while the writer is paused: ${f.n} packets in 2 s, longest gap ${f.gap.toFixed(0)} ms`);
  }
  if (!Ls.every((L) => silent(L, p0))) fail(`paused writer: listeners do not hear silence (${Ls.map((L) => describe(L, p0)).join(' | ')})`);
  const rp = await readyz(base);
  if (rp.status !== 200) fail(`/readyz while the writer is paused: ${rp.status} ${rp.text}`);
  else pass('/readyz stays 200 while the writer is paused (stalled is not lost)');
  if (E.find((j) => j.type === 'source' && j.state !== 'running', tp)) fail('events: a paused writer was reported as a lost source');
  w.kill('SIGCONT');
  const tc = now();
  if (!(await waitFor(() => Ls.every((L) => hears(L, A, tc)), 8000)))
    fail(`after the pause: listeners do not hear ${A} Hz again (${Ls.map((L) => describe(L, tc)).join(' | ')})`);
  else pass(`after the pause: both listeners decode ${A} Hz again, ${(now() - tc).toFixed(0)} ms after it resumed`);
}

// -- the loss
const tLoss = now();
killSource();
console.log(`source killed (${mode})`);
const evLost = await waitFor(() => E.find((j) => j.type === 'source' && j.state !== 'running', tLoss), 8000);
if (!evLost) fail('events: no `source` message with a non-running state after the loss');
else pass(`events: source ${evLost.j.state} after ${(evLost.t - tLoss).toFixed(0)} ms (error: ${evLost.j.error})`);
const rLost = await waitFor(async () => { const r = await readyz(base); return r.status === 503 ? r : null; }, 8000);
if (!rLost) fail('/readyz did not turn 503 after the loss');
else if (!/capture is (retrying|starting)/.test(rLost.j?.reason || '')) fail(`/readyz 503 reason does not name the source state: ${rLost.text}`);
else pass(`/readyz 503: ${rLost.j.reason}`);
const tSilent = now();
if (!(await waitFor(() => Ls.every((L) => silent(L, tSilent)), 6000)))
  fail(`after the loss: listeners do not hear silence (${Ls.map((L) => describe(L, tSilent)).join(' | ')})`);
else pass('after the loss: both listeners decode silence');
// packets keep coming while the source is away (keep-alive silence): measure 2.5 s of it
const m0 = now();
await sleep(2500);
for (const L of Ls) {
  const f = flow(L, m0, now());
  // without keep-alive this is 0 packets and a 2.5 s gap; the slack is for a loaded 2-core box
  const want = 0.8 * 2.5 * rate;
  if (f.n < want || f.gap > 500) fail(`${L.name} while the source is away: ${f.n} packets in 2.5 s (want ≥ ${want}), longest gap ${f.gap.toFixed(0)} ms`);
  else pass(`${L.name} while the source is away: ${f.n} packets in 2.5 s, longest gap ${f.gap.toFixed(0)} ms`);
}
const rStill = await readyz(base);
if (rStill.status !== 503) fail(`/readyz while the source is away: ${rStill.status}`);

// -- the return
const tBack = now();
if (!(await startSource(B))) process.exit(1);
const evBack = await waitFor(() => E.find((j) => j.type === 'source' && j.state === 'running', tBack), 15000);
if (!evBack) fail('events: no `source` running message after the source came back');
else pass(`events: source running ${(evBack.t - tBack).toFixed(0)} ms after it came back`);
const rBack = await waitFor(async () => { const r = await readyz(base); return r.status === 200 ? r : null; }, 15000);
if (!rBack) fail('/readyz did not return to 200');
else pass(`/readyz 200 again after ${(now() - tBack).toFixed(0)} ms`);
if (!(await waitFor(() => Ls.every((L) => hears(L, B, tBack)), 15000)))
  fail(`after the return: listeners do not hear ${B} Hz (${Ls.map((L) => describe(L, tBack)).join(' | ')})`);
else pass(`after the return: both listeners decode ${B} Hz, ${(now() - tBack).toFixed(0)} ms after it came back`);
const reopens1 = await metric(base, 'loopcast_capture_reopens_total');
if (!(reopens1 >= reopens0 + 1)) fail(`capture reopens ${reopens0} → ${reopens1}: want at least one more`);
else pass(`capture reopened (loopcast_capture_reopens_total ${reopens0} → ${reopens1})`);

// -- the same connections throughout
for (const L of Ls) {
  if (L.closed) fail(`${L.name} was closed (${L.closed.code} ${L.closed.reason})`);
  if (L.bad) fail(`${L.name}: ${L.bad} malformed messages`);
  const src = L.texts.filter((m) => m.j.type === 'source' && m.t > tLoss).map((m) => m.j.state);
  if (!src.includes('running') || !src.some((s) => s !== 'running'))
    fail(`${L.name}: audio socket's source messages after the loss: [${src}] (want a non-running one and running)`);
}
if (E.closed) fail(`events socket was closed (${E.closed.code})`);
if (!Ls.some((L) => L.closed) && !E.closed) pass('all connections stayed open across the loss');

killSource();
for (const L of Ls) L.stop();
E.ws.close();
await sleep(200);
process.exit(failures() ? 1 : 0);
