#!/usr/bin/env bash
# wine_test.sh — the Windows build, tested from Linux: cross-compile with
# cmake/mingw-w64-x86_64.cmake, then run loopcast-capture.exe under Wine (headless) against a
# private PulseAudio with a null sink (recipe: TESTING-AUDIO.md "WASAPI (Windows) from Linux").
#
#   1. the cross build configures with no options, builds with -Werror, and says what it skipped
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
# usage: wine_test.sh SOURCE_DIR CROSS_BUILD_DIR
# Missing tools are a FAILURE, not a skip: install them with deploy/install-deps.sh.
set -uo pipefail
SRC=${1:?usage: $0 SOURCE_DIR CROSS_BUILD_DIR}
BUILD=${2:?usage: $0 SOURCE_DIR CROSS_BUILD_DIR}

missing=()
for c in x86_64-w64-mingw32-gcc wine wineserver cmake pulseaudio pactl paplay sox awk flock; do
  command -v "$c" >/dev/null || missing+=("$c")
done
if ((${#missing[@]})); then
  echo "FAIL: missing: ${missing[*]} — run deploy/install-deps.sh (packages mingw-w64 wine wine64" \
       "pulseaudio pulseaudio-utils sox)"
  exit 1
fi

WORK=$(mktemp -d /tmp/lc-wine-XXXXXX)
export XDG_RUNTIME_DIR=$WORK/run HOME=$WORK/home
unset PULSE_SERVER PULSE_SOURCE PULSE_SINK DISPLAY WAYLAND_DISPLAY
mkdir -p "$XDG_RUNTIME_DIR" "$HOME"
chmod 700 "$XDG_RUNTIME_DIR"
export WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml=" # no Mono/Gecko install prompts

# Wine prefix: a cached one (first init ~8 s, 700 MB) when /var/cache is writable, used under a
# lock so two runs never share it at once; else a fresh one in WORK.
CACHE=/var/cache/loopcast-test
if mkdir -p "$CACHE" 2>/dev/null && [[ -w "$CACHE" ]]; then
  export WINEPREFIX=$CACHE/wineprefix
  exec 9>"$CACHE/wineprefix.lock"
  flock 9
else
  export WINEPREFIX=$WORK/wineprefix
fi
mkdir -p "$WINEPREFIX"

PA_PID="" PLAY_PID="" WS_PID="" CAP_PID=""
cleanup() {
  for p in $CAP_PID $PLAY_PID $PA_PID; do kill "$p" 2>/dev/null; done
  if [[ -n "$WS_PID" ]]; then
    wineserver -k 2>/dev/null # this prefix's server only: ends its wine processes too
    for _ in $(seq 50); do kill -0 "$WS_PID" 2>/dev/null || break; sleep 0.1; done
    kill "$WS_PID" 2>/dev/null
  fi
  wait 2>/dev/null
  [[ -n "${LC_KEEP_WORK:-}" ]] || rm -rf "$WORK"
}
trap cleanup EXIT

FAILS=0
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
pass() { echo "ok:   $*"; }
near() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { exit !(a != "" && a - b <= t && b - a <= t) }'; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "" && a + 0 >= b + 0) }'; }
# the .exe writes text-mode stdout: lines end in CRLF
get() { sed -n "s/^$1=//p" "$2" | tr -d '\r' | head -1; }

# ---- 1. cross build --------------------------------------------------------------------------
if [[ ! -f "$BUILD/CMakeCache.txt" ]]; then
  nice -n 5 cmake -S "$SRC" -B "$BUILD" -DCMAKE_TOOLCHAIN_FILE="$SRC/cmake/mingw-w64-x86_64.cmake" \
    >"$WORK/configure.log" 2>&1 || { echo "FAIL: cross configure"; cat "$WORK/configure.log"; exit 1; }
  grep -q "loopcast: skipped: .*codec" "$WORK/configure.log" \
    && pass "cross configure reports what it skipped: $(grep -o 'skipped: .*' "$WORK/configure.log")" \
    || fail "cross configure does not say what it skipped"
fi
if ! nice -n 5 cmake --build "$BUILD" -j2 >"$WORK/build.log" 2>&1; then
  echo "FAIL: cross build"; tail -40 "$WORK/build.log"; exit 1
fi
EXE=$BUILD/tools/loopcast-capture.exe
[[ -f "$EXE" ]] || { echo "FAIL: $EXE was not built"; exit 1; }
pass "cross build (-Werror): $(basename "$EXE") $(stat -c %s "$EXE") bytes"

# ---- the Windows side: PulseAudio, then one wineserver we own --------------------------------
cat >"$WORK/default.pa" <<'EOF'
load-module module-native-protocol-unix auth-anonymous=1
load-module module-null-sink sink_name=testsink rate=48000 channels=2
load-module module-null-sink sink_name=surround rate=44100 channels=6 sink_properties=device.description=Surround51
set-default-sink testsink
set-default-source testsink.monitor
EOF
start_pulse() {
  pulseaudio -n -F "$WORK/default.pa" --daemonize=no --exit-idle-time=-1 --use-pid-file=no \
    --log-target=stderr 2>>"$WORK/pulse.log" &
  PA_PID=$!
  for _ in $(seq 100); do pactl info >/dev/null 2>&1 && break; sleep 0.1; done
  pactl info >/dev/null 2>&1 || { echo "FAIL: pulseaudio did not come up"; cat "$WORK/pulse.log"; exit 1; }
  pactl set-default-source testsink.monitor
}
stop_pulse() { kill "$PA_PID" 2>/dev/null; wait "$PA_PID" 2>/dev/null; PA_PID=""; }
start_pulse
sox -n -r 48000 -c 2 "$WORK/t1000.wav" synth 60 sine 1000 vol 0.5
sox -n -r 48000 -c 2 "$WORK/t1500.wav" synth 60 sine 1500 vol 0.5
sox -n -r 44100 -c 6 "$WORK/t700x6.wav" synth 60 sine 700 vol 0.5

wineserver -f -p >"$WORK/wineserver.log" 2>&1 &
WS_PID=$!
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
