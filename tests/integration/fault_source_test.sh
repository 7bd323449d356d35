#!/usr/bin/env bash
# fault_source_test.sh — the capture source goes away and comes back while loopcast runs, with
# listeners and an events client connected (the checks are in fault_source.mjs):
#   a) pipe:  the process writing the FIFO is killed -9, then a new writer appears;
#   b) pulse: `--source loopback` on a private headless PulseAudio (TESTING-AUDIO.md recipe);
#      the daemon is killed -9, then a new one starts playing another tone. Missing
#      pulseaudio/paplay/sox or the ALSA pulse plugin is a failure (an install bug), not a skip.
#   c) file:  the WAV file is deleted while it plays (a loss: it is not played on from its open
#      descriptor), then a new file with another tone appears at the same path. (Made unreadable
#      by its mode cannot be shown: the tests run as root, whom a mode does not stop.)
# An ALSA device failing mid-stream is not a separate case: the alsa-lib `file` PCM cannot be
#    made to fail once opened (past its file it returns silence), and (b) is the same code path —
#    the pulse plugin's stream dies under the ALSA backend exactly as a removed device's does.
source "$(dirname "$0")/../lib.sh"
DIR=$(cd "$(dirname "$0")" && pwd)
DECODER=${LC_DECODER:-$(dirname "$LC_BENCH")/../fault/lc-fault-decode}
[[ -x "$DECODER" ]] || lc_fail "no lc-fault-decode at $DECODER (build the lc-fault-decode target)"
command -v node >/dev/null || lc_fail "node is not installed"
export LC_DECODER=$DECODER LC_PIDFILE=$LC_TMP/child-pids
: >"$LC_PIDFILE"
kill_children() { local p; while read -r p; do [[ -n $p ]] && kill -KILL "$p" 2>/dev/null; done <"$LC_PIDFILE"; }
trap 'kill_children; lc_cleanup' EXIT
# finish_case NAME LOG [MORE_LOGS...]: after fault_source.mjs (its exit status in $rc): the server
# must still run, its capture/source lines are shown, SIGTERM must exit 0, and the checks held.
finish_case() {
  local name=$1 log=$2; shift 2
  kill -0 "$LC_PID" 2>/dev/null || { cat "$log"; lc_fail "$name: the server died"; }
  grep -E "capture|source" "$log" | sed 's/^/  log: /'
  lc_stop_server TERM || lc_fail "$name: exit status after SIGTERM"
  ((rc == 0)) || { cat "$log" "$@"; lc_fail "$name: a check failed (above)"; }
}

# ---- a) pipe writer dies -------------------------------------------------------------------------
port=$(lc_free_port)
mkfifo "$LC_TMP/fifo"
lc_start_server "$LC_TMP/pipe.log" --source "pipe:$LC_TMP/fifo" --bind 127.0.0.1 --port "$port" \
  --state-dir "$LC_TMP/state-pipe"
LC_FIFO=$LC_TMP/fifo LC_PACE=$DIR/pace_tone.mjs \
  node "$DIR/fault_source.mjs" pipe "$port" "$(cat "$LC_TMP/state-pipe/api-token")"
rc=$?
finish_case pipe "$LC_TMP/pipe.log"
echo "ok: a) pipe writer killed and replaced: listeners stayed, heard silence, then the new tone"

# ---- c) the file behind file: is deleted, then a new one appears at its path ---------------------
port=$(lc_free_port)
sox -n -r 48000 -c 2 -b 16 "$LC_TMP/loop.wav" synth 1 sine 440 vol 0.5 || lc_fail "sox"
lc_start_server "$LC_TMP/file.log" --source "file:$LC_TMP/loop.wav" --bind 127.0.0.1 --port "$port" \
  --state-dir "$LC_TMP/state-file"
LC_FILE=$LC_TMP/loop.wav node "$DIR/fault_source.mjs" file "$port" "$(cat "$LC_TMP/state-file/api-token")"
rc=$?
finish_case file "$LC_TMP/file.log"
echo "ok: c) file deleted while playing, then replaced: listeners stayed, heard silence, then the new tone"

# ---- b) the sound server restarts ----------------------------------------------------------------
missing=""
for c in pulseaudio pactl paplay sox; do command -v "$c" >/dev/null || missing+=" $c"; done
ls /usr/lib/*/alsa-lib/libasound_module_pcm_pulse.so >/dev/null 2>&1 || missing+=" libasound2-plugins"
if [[ -n $missing ]]; then
  lc_fail "b) sound server restart: not installed:$missing (deploy/install-deps.sh installs them)"
fi
export LC_WORK=$LC_TMP/pulse XDG_RUNTIME_DIR=$LC_TMP/pulse/run HOME=$LC_TMP/pulse/home
unset PULSE_SERVER PULSE_SOURCE PULSE_SINK ALSA_CONFIG_PATH
mkdir -p "$XDG_RUNTIME_DIR" "$HOME" && chmod 700 "$XDG_RUNTIME_DIR"
cat >"$LC_WORK/default.pa" <<'PA'
load-module module-native-protocol-unix auth-anonymous=1
load-module module-null-sink sink_name=testsink rate=48000 channels=2
set-default-sink testsink
set-default-source testsink.monitor
PA
sox -n -r 48000 -c 2 "$LC_WORK/t1000.wav" synth 60 sine 1000 vol 0.5
sox -n -r 48000 -c 2 "$LC_WORK/t1500.wav" synth 60 sine 1500 vol 0.5
# a TSan build must not report races inside (uninstrumented) libpulse
export TSAN_OPTIONS="${TSAN_OPTIONS:+$TSAN_OPTIONS:}suppressions=$LC_ROOT/tests/capture/tsan.supp"
port=$(lc_free_port)
# loopcast starts before the sound server: the source starts out missing and is found later
lc_start_server "$LC_TMP/pulse.log" --source loopback --bind 127.0.0.1 --port "$port" \
  --state-dir "$LC_TMP/state-pulse"
node "$DIR/fault_source.mjs" pulse "$port" "$(cat "$LC_TMP/state-pulse/api-token")"
rc=$?
finish_case pulse "$LC_TMP/pulse.log" "$LC_WORK/pulse.log"
echo "ok: b) PulseAudio killed -9 and restarted with another tone: listeners stayed and heard it"
lc_pass "fault_source: pipe writer death, file deletion and sound server restart survived with the same connections"
