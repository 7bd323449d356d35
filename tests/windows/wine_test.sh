#!/usr/bin/env bash
# wine_test.sh — the capture half of the Windows package, tested from Linux: loopcast-capture.exe
# (built by deploy/windows/build.sh) under Wine (headless) against a private PulseAudio with a
# null sink (recipe: TESTING-AUDIO.md "WASAPI (Windows) from Linux"). The server is
# wine_server_test.sh's.
#
#   1. the package build holds loopcast-capture.exe
#   2. --list-devices shows >= 1 WASAPI render and >= 1 capture endpoint (ID + friendly name)
#   3. tone:440 under Wine: the platform layer's QPC clock and waitable-timer sleep pace in real time
#   4. wasapi-capture:default records a tone played into the sink (monitor = default source):
#      1000 +/- 5 Hz; the same by friendly name and by endpoint ID; an unknown name fails cleanly;
#      a 6-channel 44.1 kHz endpoint arrives as 6 channels at 44100 Hz (mix format = any layout)
#   5. a source that delivers no packets (sink suspended) still yields a continuous timeline of
#      silence (the backend's silence generator)
#   6. wasapi (loopback) — which Wine does not implement — fails cleanly: exit 1, not a crash,
#      with the HRESULT named (AUDCLNT_E_WRONG_ENDPOINT_TYPE); auto resolves to wasapi
#   7. the sound server dies mid-capture and comes back with other audio: silence meanwhile, the
#      stall watchdog reopens (reopens >= 1), and the new tone arrives (tail 1500 Hz)
#
# usage: wine_test.sh SOURCE_DIR PACKAGE_BUILD_DIR — the folder deploy/windows/build.sh built
# (the test windows_package, tests/windows/CMakeLists.txt): the same loopcast-capture.exe the
# zip's build holds.
# Missing tools are a FAILURE, not a skip: install them with deploy/install-deps.sh.
set -uo pipefail
SRC=${1:?usage: $0 SOURCE_DIR PACKAGE_BUILD_DIR}
BUILD=${2:?usage: $0 SOURCE_DIR PACKAGE_BUILD_DIR}
FAILS=0
source "$SRC/tests/windows/wine_lib.sh"
wine_require wine wineserver pulseaudio pactl paplay sox awk flock
wine_setup
PLAY_PID="" CAP_PID=""
wine_on_exit 'kill $CAP_PID $PLAY_PID'

# ---- 1. the build ----------------------------------------------------------------------------
EXE=$BUILD/tools/loopcast-capture.exe
[[ -f "$EXE" ]] || { echo "FAIL: $EXE was not built (run deploy/windows/build.sh)"; exit 1; }
pass "the package build has $(basename "$EXE"): $(stat -c %s "$EXE") bytes"

# ---- the Windows side: PulseAudio, then one wineserver we own --------------------------------
cat >"$WORK/default.pa" <<'EOF'
load-module module-native-protocol-unix auth-anonymous=1
load-module module-null-sink sink_name=testsink rate=48000 channels=2
load-module module-null-sink sink_name=surround rate=44100 channels=6 sink_properties=device.description=Surround51
set-default-sink testsink
set-default-source testsink.monitor
EOF
start_pulse() { wine_pulse_start "$WORK/default.pa"; pactl set-default-source testsink.monitor; }
stop_pulse() { wine_pulse_stop; }
start_pulse
sox -n -r 48000 -c 2 "$WORK/t1000.wav" synth 60 sine 1000 vol 0.5
sox -n -r 48000 -c 2 "$WORK/t1500.wav" synth 60 sine 1500 vol 0.5
sox -n -r 44100 -c 6 "$WORK/t700x6.wav" synth 60 sine 700 vol 0.5

wine_server_start
# the first wine call initialises an empty prefix (~8 s); headless: no DISPLAY, console program
run_wine() { timeout 120 wine "$EXE" "$@"; }
if ! run_wine --help >"$WORK/help.txt" 2>"$WORK/help.err"; then
  echo "FAIL: wine cannot run $EXE headless:"; tail -20 "$WORK/help.err"; exit 1
fi
grep -q -- "--list-devices" "$WORK/help.txt" && pass "wine runs the .exe headless" \
  || fail "--help under wine: $(cat "$WORK/help.txt")"

# ---- 2. endpoints ----------------------------------------------------------------------------
run_wine --list-devices >"$WORK/list.txt" 2>"$WORK/list.err"
nr=$(grep -c '^    render  ' "$WORK/list.txt")
nc=$(grep -c '^    capture ' "$WORK/list.txt")
if [[ $nr -ge 1 && $nc -ge 1 ]]; then
  pass "--list-devices: $nr render, $nc capture endpoint(s)"
else
  fail "--list-devices: $nr render, $nc capture endpoints"; cat "$WORK/list.txt" "$WORK/list.err"
fi
grep -q "Devices of 'wasapi-capture'" "$WORK/list.txt" || fail "--list-devices lacks wasapi-capture"

# ---- 3. the platform layer's clock and sleep under Wine -------------------------------------
run_wine --seconds 2 --report tone:440 >"$WORK/tone.txt" 2>"$WORK/tone.err"
rc=$?
if [[ $rc -eq 0 ]] && near "$(get dominant_hz "$WORK/tone.txt")" 440 1 \
   && near "$(get seconds "$WORK/tone.txt")" 2 0.1; then
  pass "tone:440 paced by QPC + waitable timer: $(get frames "$WORK/tone.txt") frames in 2 s"
else
  fail "tone:440 under wine (exit $rc)"; cat "$WORK/tone.txt" "$WORK/tone.err"
fi

# ---- 4. a capture endpoint records the played tone ------------------------------------------
play() { paplay "$1" 2>>"$WORK/paplay.log" & PLAY_PID=$!; }
stop_play() { kill "$PLAY_PID" 2>/dev/null; wait "$PLAY_PID" 2>/dev/null; PLAY_PID=""; }
# capture NAME URI [FREQ RATE CHANNELS] — 3 s, must be the tone (default 1 kHz) at the right level
capture() {
  local name=$1 uri=$2 freq=${3:-1000} rate=${4:-48000} chans=${5:-2} out="$WORK/$1.txt"
  run_wine --seconds 3 --report "$uri" >"$out" 2>"$WORK/$name.err"
  local rc=$? hz frames
  hz=$(get dominant_hz "$out"); frames=$(get frames "$out")
  if [[ $rc -ne 0 ]]; then fail "$name: exit $rc"; cat "$out" "$WORK/$name.err"; return; fi
  if ! ge "${frames:-0}" $((rate * 2)); then fail "$name: only ${frames:-0} frames"; cat "$out"; return; fi
  if [[ "$(get rate "$out")" != "$rate" || "$(get channels "$out")" != "$chans" ]]; then
    fail "$name: $(get rate "$out") Hz x $(get channels "$out"), want $rate x $chans"; return
  fi
  if ! near "$hz" "$freq" 5; then fail "$name: dominant ${hz} Hz, want $freq +/- 5"; cat "$out"; return; fi
  # tight: silence wrongly mixed into the last second (a too-eager silence generator) lowers it
  if ! near "$(get tail_rms "$out")" 0.3536 0.01; then
    fail "$name: tail rms $(get tail_rms "$out"), want 0.354 +/- 0.01"; cat "$out"; return
  fi
  pass "$name: $frames frames, $(get rate "$out") Hz x $(get channels "$out"), ${hz} Hz," \
       "tail rms $(get tail_rms "$out"), xruns $(get xruns "$out")"
}
play "$WORK/t1000.wav"
sleep 1 # the monitor of a freshly resumed null sink takes a moment to flow
capture capture-default wasapi-capture:default
# the null sink's monitor by friendly name, then by ID, both taken from the listing
mon=$(grep '^    capture .*"Monitor of Null Output"' "$WORK/list.txt" | tr -d '\r' | head -1)
mon_name=$(sed -n 's/.*"\(.*\)".*/\1/p' <<<"$mon")
mon_id=$(awk '{print $2}' <<<"$mon")
if [[ -n "$mon_name" && -n "$mon_id" ]]; then
  capture capture-by-name "wasapi-capture:$mon_name"
  capture capture-by-id "wasapi-capture:$mon_id"
else
  fail "no 'Monitor of Null Output' capture endpoint in the listing"; cat "$WORK/list.txt"
fi
stop_play
paplay --device=surround "$WORK/t700x6.wav" 2>>"$WORK/paplay.log" & PLAY_PID=$!
sleep 1
capture capture-6ch "wasapi-capture:Monitor of Surround51" 700 44100 6
stop_play
run_wine --seconds 1 --report "wasapi-capture:No Such Endpoint" >"$WORK/noname.txt" 2>"$WORK/noname.err"
rc=$?
if [[ $rc -eq 1 ]] && grep -q "no active capture endpoint has the ID or name 'No Such Endpoint'" "$WORK/noname.err"; then
  pass "an unknown endpoint name fails cleanly (exit 1, named)"
else
  fail "unknown endpoint name: exit $rc"; cat "$WORK/noname.txt" "$WORK/noname.err"
fi

# ---- 5. no packets at all: the backend keeps the timeline with silence ----------------------
# (2.5 s: a capture endpoint silent for 3 s counts as stalled and is reopened, see 7.)
pactl suspend-sink testsink 1
run_wine --seconds 2.5 --report wasapi-capture:default >"$WORK/silent.txt" 2>"$WORK/silent.err"
rc=$?
pactl suspend-sink testsink 0
frames=$(get frames "$WORK/silent.txt")
if [[ $rc -eq 0 ]] && ge "${frames:-0}" $((25 * 4800 * 9 / 10)) && [[ "$(get rms "$WORK/silent.txt")" == 0.000000 ]] \
   && [[ "$(get reopens "$WORK/silent.txt")" == 0 ]]; then
  pass "suspended source: $frames frames of continuous silence in 2.5 s"
else
  fail "suspended source (exit $rc)"; cat "$WORK/silent.txt" "$WORK/silent.err"
fi

# ---- 6. loopback: not implemented by Wine, must fail cleanly with the HRESULT's name ---------
run_wine --seconds 2 wasapi >"$WORK/loopback.txt" 2>"$WORK/loopback.err"
rc=$?
if [[ $rc -eq 1 ]] && grep -q "AUDCLNT_E_WRONG_ENDPOINT_TYPE" "$WORK/loopback.err"; then
  pass "wasapi loopback under wine: exit 1 naming AUDCLNT_E_WRONG_ENDPOINT_TYPE"
else
  fail "wasapi loopback: exit $rc (want 1 and AUDCLNT_E_WRONG_ENDPOINT_TYPE)"
  cat "$WORK/loopback.txt" "$WORK/loopback.err"
fi
run_wine --seconds 1 --report auto >"$WORK/auto.txt" 2>"$WORK/auto.err"
[[ "$(get uri "$WORK/auto.txt")" == "wasapi" ]] && pass "auto resolves to wasapi on Windows" \
  || { fail "auto resolved to '$(get uri "$WORK/auto.txt")'"; cat "$WORK/auto.err"; }

# ---- 7. the sound server dies and comes back ---------------------------------------------------
play "$WORK/t1000.wav"
sleep 1
run_wine --seconds 14 --report wasapi-capture:default >"$WORK/loss.txt" 2>"$WORK/loss.err" &
CAP_PID=$!
sleep 4
stop_play
stop_pulse
sleep 2
kill -0 "$CAP_PID" 2>/dev/null && pass "capture survives the sound server's death" \
  || fail "capture died with the sound server"
start_pulse
play "$WORK/t1500.wav"
wait "$CAP_PID"
rc=$?
CAP_PID=""
stop_play
frames=$(get frames "$WORK/loss.txt")
if [[ $rc -eq 0 ]] && ge "$(get reopens "$WORK/loss.txt")" 1 && near "$(get tail_hz "$WORK/loss.txt")" 1500 5 \
   && near "$(get tail_rms "$WORK/loss.txt")" 0.3536 0.03 && ge "${frames:-0}" $((13 * 48000)); then
  pass "server loss: reopens=$(get reopens "$WORK/loss.txt"), resumed at $(get tail_hz "$WORK/loss.txt") Hz," \
       "$frames frames in 14 s"
else
  fail "server loss (exit $rc)"; cat "$WORK/loss.txt" "$WORK/loss.err"
fi
grep -q "stalled (retrying)" "$WORK/loss.err" && grep -q "reopened" "$WORK/loss.err" \
  && pass "stall and reopen are logged" || { fail "stall/reopen not logged"; cat "$WORK/loss.err"; }

echo "$FAILS failure(s)"
[[ $FAILS -eq 0 ]]
