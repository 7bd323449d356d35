#!/usr/bin/env bash
# app:NAME / app:pid:N (issue 16) with a real PulseAudio (private, a null sink) and real players:
#   1. bad input: app: with nothing, ?exclude=1 (Windows only), pid:abc → exit 2 naming --source;
#   2. two players (paplay, application.name player-a at 440 Hz and player-b at 1000 Hz) play into
#      the same sink; --list-sources lists both with the URI to use;
#   3. app:PLAYER-A (case-insensitive): ffmpeg decodes 440 Hz from /stream.ogg with the 1000 Hz
#      component at least 40 dB down; the detail says "following player-a";
#   4. player-a stops: the source stays running, /readyz 200, the detail says "waiting for
#      PLAYER-A", a `source` event says so, listeners get silence; player-a starts again: 440 Hz,
#      the same loopcast process;
#   5. app:pid:N of player-b: 1000 Hz; an application that never plays: running, waiting, silence;
#   6. SIGTERM exits 0.
source "$(dirname "$0")/../lib.sh"
for c in pulseaudio pactl paplay sox ffmpeg python3; do
  command -v "$c" >/dev/null || lc_fail "$c is not installed (deploy/install-deps.sh)"
done
node_bin=$(command -v node) || lc_fail "node not found"
# libpulse is not built for TSan: its own threads' memory is reported as races inside it
export TSAN_OPTIONS="${TSAN_OPTIONS:+$TSAN_OPTIONS:}suppressions=$LC_ROOT/tests/capture/tsan.supp"
port=$(lc_free_port)

# ---- 1. bad input ------------------------------------------------------------------------------
for bad in 'app:' 'app:spotify?exclude=1' 'app:pid:abc' 'app:a%zzb'; do
  out=$("$LOOPCAST_BIN" --source "$bad" --port "$port" 2>&1); rc=$?
  [[ $rc == 2 && $out == *"--source: app:"* ]] || lc_fail "--source $bad → rc $rc: $out"
done
lc_pass "bad app: URIs exit 2 naming --source (empty, exclude= on Linux, pid:abc, a bad escape)"

# ---- a private PulseAudio with a null sink, two players -------------------------------------------
export XDG_RUNTIME_DIR=$LC_TMP/run HOME=$LC_TMP/home
unset PULSE_SERVER PULSE_SOURCE PULSE_SINK
mkdir -p "$XDG_RUNTIME_DIR" "$HOME" && chmod 700 "$XDG_RUNTIME_DIR"
cat >"$LC_TMP/default.pa" <<'EOF'
load-module module-native-protocol-unix auth-anonymous=1
load-module module-null-sink sink_name=testsink rate=48000 channels=2
set-default-sink testsink
EOF
pulseaudio -n -F "$LC_TMP/default.pa" --daemonize=no --exit-idle-time=-1 --use-pid-file=no \
  --log-target=stderr 2>"$LC_TMP/pulse.log" &
LC_PIDS+=($!)
for ((i = 0; i < 100; i++)); do pactl info >/dev/null 2>&1 && break; sleep 0.1; done
pactl info >/dev/null 2>&1 || lc_fail "pulseaudio did not start: $(cat "$LC_TMP/pulse.log")"
sox -n -r 48000 -c 2 "$LC_TMP/t440.wav" synth 120 sine 440 vol 0.5
sox -n -r 48000 -c 2 "$LC_TMP/t1000.wav" synth 120 sine 1000 vol 0.5
play() { # NAME FILE: sets PLAYER
  paplay --property=application.name="$1" "$2" &
  PLAYER=$!
  LC_PIDS+=("$PLAYER")
}
play player-a "$LC_TMP/t440.wav"; pa=$PLAYER
play player-b "$LC_TMP/t1000.wav"; pb=$PLAYER
sleep 0.5
list=$("$LOOPCAST_BIN" --list-sources 2>&1)
grep -q 'app:player-a .*binary pacat' <<<"$list" && grep -q 'app:player-b ' <<<"$list" ||
  lc_fail "--list-sources: $(grep -A3 "'app'" <<<"$list")"
lc_pass "--list-sources lists both players with the URI to use"

# tone STREAM SECONDS: "HZ RMS REJECTION_DB" of /stream.ogg?stream=STREAM (the other tone's
# level below this one's, by Goertzel filters at 440 and 1000 Hz)
tone() {
  read -r hz rms _ <<<"$(lc_decode_tone "$2" "http://127.0.0.1:$port/stream.ogg?stream=$1")"
  db=$(python3 - "$LC_TMP/tone.raw" "$hz" <<'PY'
import math, struct, sys
d = open(sys.argv[1], 'rb').read(); n = len(d) // 2
x = struct.unpack('<%dh' % n, d)[n // 3:]
def level(f):
    c = 2 * math.cos(2 * math.pi * f / 48000); s1 = s2 = 0.0
    for v in x:
        s1, s2 = v + c * s1 - s2, s1
    return math.sqrt(max(s1 * s1 + s2 * s2 - c * s1 * s2, 1e-9))
mine, other = (440, 1000) if abs(float(sys.argv[2]) - 440) < 50 else (1000, 440)
print('%.1f' % (20 * math.log10(level(mine) / level(other))))
PY
)
  echo "$hz $rms $db"
}
stream_field() { # STREAM FIELD: from GET /api/v1/streams
  curl -sf -H "Authorization: Bearer $token" "http://127.0.0.1:$port/api/v1/streams" |
    python3 -c "import json,sys; print([s for s in json.load(sys.stdin)['streams'] if s['name']=='$1'][0]['$2'])"
}

# ---- 3. app:PLAYER-A --------------------------------------------------------------------------------
lc_start_server "$LC_TMP/lc.log" --bind 127.0.0.1 --port "$port" --state-dir "$LC_TMP/state" \
  --mdns off --source app:PLAYER-A --stream "b=app:pid:$pb" --stream c=app:never-plays
token=$(cat "$LC_TMP/state/api-token")
server=$LC_PID
read -r hz rms db <<<"$(tone default 3)"
python3 -c "import sys; hz,rms,db=map(float,sys.argv[1:]); assert abs(hz-440)<3 and rms>0.1 and db>=40" "$hz" "$rms" "$db" ||
  lc_fail "app:PLAYER-A: $hz Hz, rms $rms, 1000 Hz $db dB down"
d=$(stream_field default detail)
[[ $d == "following player-a (sink input "*" on testsink)" ]] || lc_fail "detail: $d"
lc_pass "app:PLAYER-A: $hz Hz, the other player's 1000 Hz $db dB down; detail '$d'"

# ---- 4. the player stops and starts again ---------------------------------------------------------------
"$node_bin" - "$port" "$token" >"$LC_TMP/events.txt" 2>&1 <<JS &
import('$LC_ROOT/tests/integration/ws_lib.mjs').then(async ({ client }) => {
  const [port, token] = process.argv.slice(2);
  const E = client('ws://127.0.0.1:' + port + '/api/v1/events', 'loopcast.events.v1');
  await E.open;
  E.ws.send(JSON.stringify({ type: 'auth', token }));
  await E.wait((j) => j.type === 'hello', 3000);
  const w = await E.wait((j) => j.type === 'source' && j.stream === 'default' && /^waiting for/.test(j.detail || ''), 8000);
  console.log(w ? 'event ' + w.j.state + ' ' + w.j.detail : 'none');
  process.exit(0);
});
JS
events=$!
sleep 0.5
kill "$pa"; wait "$pa" 2>/dev/null
sleep 1
d=$(stream_field default detail); st=$(stream_field default state)
ready=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz")
[[ $d == "waiting for PLAYER-A" && $st == running && $ready == 200 ]] ||
  lc_fail "player-a stopped: state $st, detail '$d', /readyz $ready"
wait $events
grep -q '^event running waiting for PLAYER-A$' "$LC_TMP/events.txt" || lc_fail "events: $(cat "$LC_TMP/events.txt")"
read -r _ rms0 _ <<<"$(lc_decode_tone 2 "http://127.0.0.1:$port/stream.ogg")"
python3 -c "import sys; assert float(sys.argv[1]) < 0.001" "$rms0" || lc_fail "silence while player-a is gone: rms $rms0"
play player-a "$LC_TMP/t440.wav"
sleep 1
read -r hz rms db <<<"$(tone default 2)"
python3 -c "import sys; hz,rms,db=map(float,sys.argv[1:]); assert abs(hz-440)<3 and rms>0.1 and db>=40" "$hz" "$rms" "$db" ||
  lc_fail "player-a again: $hz Hz, rms $rms, $db dB"
kill -0 "$server" || lc_fail "loopcast exited"
lc_pass "player-a stops: running, /readyz 200, 'waiting for PLAYER-A' (API and event), silence (rms $rms0); starts again: $hz Hz, same process"

# ---- 5. app:pid:N, and an application that never plays ---------------------------------------------------
read -r hz rms db <<<"$(tone b 2)"
python3 -c "import sys; hz,rms,db=map(float,sys.argv[1:]); assert abs(hz-1000)<3 and db>=40" "$hz" "$rms" "$db" ||
  lc_fail "app:pid:$pb: $hz Hz, $db dB"
read -r _ rmsc _ <<<"$(lc_decode_tone 2 "http://127.0.0.1:$port/stream.ogg?stream=c")"
dc=$(stream_field c detail); sc=$(stream_field c state)
[[ $dc == "waiting for never-plays" && $sc == running ]] && python3 -c "import sys; assert float(sys.argv[1]) < 0.001" "$rmsc" ||
  lc_fail "app:never-plays: state $sc, detail '$dc', rms $rmsc"
lc_pass "app:pid:$pb hears player-b at $hz Hz ($db dB clean); app:never-plays runs, waits, sends silence"
lc_stop_server TERM || lc_fail "exit status after SIGTERM"
lc_pass "SIGTERM: exit 0"
