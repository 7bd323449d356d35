#!/usr/bin/env bash
# pulse_capture_test.sh — real capture end to end through a private, headless PulseAudio with a
# null sink (recipe: TESTING-AUDIO.md). What plays into the sink must come out of
#   loopback, loopback:testsink, alsa:pulse (PULSE_SOURCE=testsink.monitor) and auto
# at the right frequency and level; killing the sound server mid-capture must not crash the
# capture, which keeps retrying and resumes (reopens >= 1) with the new server's audio. Also:
# auto's fallback to tone:440 with a loud warning, and loopcast-capture's argument errors.
#
# usage: pulse_capture_test.sh path/to/loopcast-capture      (tools missing = failure: install-deps.sh installs them)
set -uo pipefail
TOOL=${1:?usage: $0 path/to/loopcast-capture}

for c in pulseaudio pactl paplay sox awk; do
  command -v "$c" >/dev/null || { echo "FAIL: $c is not installed (run deploy/install-deps.sh)"; exit 1; }
done
if ! ls /usr/lib/*/alsa-lib/libasound_module_pcm_pulse.so >/dev/null 2>&1; then
  echo "FAIL: the ALSA pulse plugin (libasound2-plugins) is not installed"; exit 1
fi

# a TSan build of the tool must not report races inside (uninstrumented) libpulse
export TSAN_OPTIONS="${TSAN_OPTIONS:+$TSAN_OPTIONS:}suppressions=$(cd "$(dirname "$0")" && pwd)/tsan.supp"

WORK=$(mktemp -d /tmp/lc-pulse-XXXXXX)
export XDG_RUNTIME_DIR=$WORK/run HOME=$WORK/home
unset PULSE_SERVER PULSE_SOURCE PULSE_SINK ALSA_CONFIG_PATH
mkdir -p "$XDG_RUNTIME_DIR" "$HOME"
chmod 700 "$XDG_RUNTIME_DIR"
PA_PID="" PLAY_PID="" CAP_PID=""
cleanup() {
  for p in $CAP_PID $PLAY_PID $PA_PID; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  [[ -n "${LC_KEEP_WORK:-}" ]] || rm -rf "$WORK"
}
trap cleanup EXIT

FAILS=0
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
pass() { echo "ok:   $*"; }
# near A B TOL
near() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { exit !(a != "" && a - b <= t && b - a <= t) }'; }
get() { sed -n "s/^$1=//p" "$2" | head -1; }

cat >"$WORK/default.pa" <<'EOF'
load-module module-native-protocol-unix auth-anonymous=1
load-module module-null-sink sink_name=testsink rate=48000 channels=2
set-default-sink testsink
set-default-source testsink.monitor
EOF
sox -n -r 48000 -c 2 "$WORK/t1000.wav" synth 90 sine 1000 vol 0.5
sox -n -r 48000 -c 2 "$WORK/t1500.wav" synth 90 sine 1500 vol 0.5

start_pulse() {
  pulseaudio -n -F "$WORK/default.pa" --daemonize=no --exit-idle-time=-1 --use-pid-file=no \
    --log-target=stderr 2>>"$WORK/pulse.log" &
  PA_PID=$!
  for _ in $(seq 100); do
    pactl info >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "pulseaudio did not come up:"; cat "$WORK/pulse.log"; exit 1
}
stop_pulse() { kill "$PA_PID" 2>/dev/null; wait "$PA_PID" 2>/dev/null; PA_PID=""; }
play() { paplay "$1" 2>>"$WORK/paplay.log" & PLAY_PID=$!; }
stop_play() { kill "$PLAY_PID" 2>/dev/null; wait "$PLAY_PID" 2>/dev/null; PLAY_PID=""; }

# capture NAME URI SECONDS FREQ [env...] — runs the tool and checks rate, level and frequency
capture() {
  local name=$1 uri=$2 secs=$3 freq=$4; shift 4
  local out="$WORK/$name.txt"
  env "$@" "$TOOL" --seconds "$secs" --report "$uri" >"$out" 2>"$WORK/$name.err"
  local rc=$? hz rms frames
  hz=$(get dominant_hz "$out"); rms=$(get rms "$out"); frames=$(get frames "$out")
  if [[ $rc -ne 0 ]]; then fail "$name: exit $rc"; cat "$out" "$WORK/$name.err"; return; fi
  # the first capture after the server starts can take a second or two to flow
  if ! [[ ${frames:-0} -ge 48000 ]]; then fail "$name: only ${frames:-0} frames"; return; fi
  if ! near "$hz" "$freq" 2; then fail "$name: dominant ${hz} Hz, want $freq"; cat "$out"; return; fi
  if ! near "$(get tail_rms "$out")" 0.3536 0.03; then fail "$name: tail rms $(get tail_rms "$out")"; return; fi
  pass "$name: $frames frames, $(get rate "$out") Hz x $(get channels "$out"), ${hz} Hz, rms $rms"
}

# ---- argument errors (no server needed) ----------------------------------------------------
for args in "--seconds abc tone:440" "--bogus tone:440" "" "nosuch:1" "tone:abc" "--seconds 0 tone" \
            "tone:440 tone:880" "--wav"; do
  # shellcheck disable=SC2086
  "$TOOL" $args >/dev/null 2>"$WORK/args.err"
  rc=$?
  if [[ $rc -eq 2 && -s "$WORK/args.err" ]]; then pass "bad args '$args' -> exit 2"; else fail "bad args '$args' -> exit $rc"; fi
done
"$TOOL" --list-sources >"$WORK/list.txt" 2>&1
grep -q 'loopback\[:SINK\]' "$WORK/list.txt" && grep -q 'tone\[:FREQ\]' "$WORK/list.txt" \
  && pass "--list-sources" || fail "--list-sources: $(cat "$WORK/list.txt")"

# ---- auto with no sound server and no usable ALSA default -> tone:440, loudly -------------
printf '</usr/share/alsa/alsa.conf>\npcm.!default { type hw card 99 }\n' >"$WORK/asound.conf"
ALSA_CONFIG_PATH="$WORK/asound.conf" "$TOOL" --seconds 1 --report auto >"$WORK/auto0.txt" 2>"$WORK/auto0.err"
if [[ "$(get uri "$WORK/auto0.txt")" == "tone:440" ]] && near "$(get dominant_hz "$WORK/auto0.txt")" 440 1 \
   && grep -q "TEST TONE" "$WORK/auto0.err" && grep -q "loopback rejected: no sound server" "$WORK/auto0.err" \
   && grep -q "alsa:default rejected" "$WORK/auto0.err"; then
  pass "auto without a server falls back to tone:440 with a warning"
else
  fail "auto fallback"; cat "$WORK/auto0.txt" "$WORK/auto0.err"
fi

# ---- a real server ------------------------------------------------------------------------
start_pulse
play "$WORK/t1000.wav"
capture loopback loopback 3 1000
capture loopback-sink loopback:testsink 3 1000
capture alsa-pulse alsa:pulse 3 1000 PULSE_SOURCE=testsink.monitor
capture auto auto 3 1000
[[ "$(get uri "$WORK/auto.txt")" == "loopback" ]] && pass "auto -> loopback" || fail "auto resolved to $(get uri "$WORK/auto.txt")"

# ---- device loss: the server dies mid-capture and comes back with other audio -------------
"$TOOL" --seconds 16 --report loopback >"$WORK/loss.txt" 2>"$WORK/loss.err" &
CAP_PID=$!
sleep 4
stop_play
stop_pulse
sleep 2
kill -0 "$CAP_PID" 2>/dev/null && pass "capture survives the server's death" || fail "capture died with the server"
start_pulse
play "$WORK/t1500.wav"
wait "$CAP_PID"
rc=$?
CAP_PID=""
if [[ $rc -eq 0 ]] && [[ "$(get reopens "$WORK/loss.txt")" -ge 1 ]] && near "$(get tail_hz "$WORK/loss.txt")" 1500 2 \
   && near "$(get tail_rms "$WORK/loss.txt")" 0.3536 0.03; then
  pass "device loss: reopens=$(get reopens "$WORK/loss.txt"), resumed at $(get tail_hz "$WORK/loss.txt") Hz"
else
  fail "device loss (exit $rc)"; cat "$WORK/loss.txt" "$WORK/loss.err"
fi
grep -q "retrying" "$WORK/loss.err" && grep -q "reopened" "$WORK/loss.err" \
  && pass "loss and reopen are logged" || { fail "loss/reopen not logged"; cat "$WORK/loss.err"; }

stop_play
stop_pulse
echo "$FAILS failure(s)"
[[ $FAILS -eq 0 ]]
