#!/usr/bin/env bash
# --icecast (issue 15) against real Icecast servers (Debian's icecast2, started here):
#   1. bad input: a wrong scheme, a port out of range, no password, an unknown stream name →
#      exit 2 naming the flag, the password never echoed;
#   2. two streams pushed to a master (--icecast … and b=…), a third target with a wrong password
#      and a fourth where nothing listens: the good ones go live, the others retry with a clear
#      error in the log, GET /api/v1/status and /metrics (loopcast_icecast_up 1 / 0); /readyz
#      stays ready; the password appears in no log line, API answer or metric;
#   3. a second icecast2 relays the master's mount: ffmpeg decoding from the relay hears 440 Hz,
#      from the master's b mount 1000 Hz; meanwhile a WebSocket listener gets every packet;
#   4. the master goes away and comes back: an events client sees `icecast` events (retrying,
#      then live again) and the stream is decodable again — reconnect with backoff;
#   5. LOOPCAST_ICECAST holds several targets separated by spaces; SIGTERM exits 0.
source "$(dirname "$0")/../lib.sh"
command -v icecast2 >/dev/null || lc_fail "icecast2 needed (deploy/install-deps.sh)"
command -v ffmpeg >/dev/null || lc_fail "ffmpeg needed (deploy/install-deps.sh)"
node_bin=$(command -v node) || lc_fail "node not found"
[[ -x "${LC_BENCH:-}" ]] || lc_fail "LC_BENCH (loopcast-bench) not set"
# ASan: libshout 2.4.6 leaks the peer certificate when it checks it again after a failure (the
# TLS-by-IP target below; tests/lsan.supp). OpenSSL has no frame pointers, so the fast unwinder
# stops inside libcrypto and the suppression never sees libshout's frame: unwind fully here.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}fast_unwind_on_malloc=0"
PW='s3cr%et@pw'          # the source password; in the URL: %25 is '%', '@' before the host's '@'
PW_URL='s3cr%25et@pw'

m_port=$(lc_free_port); r_port=$(lc_free_port); dead_port=$(lc_free_port); port=$(lc_free_port)
good="icecast://source:$PW_URL@127.0.0.1:$m_port/live.opus"

# ---- 1. bad input ------------------------------------------------------------------------------
bad() { # EXPECTED-TEXT ARGS...: exit 2, the message names --icecast, no password in it
  local want=$1 out rc; shift
  out=$("$LOOPCAST_BIN" --source tone:440 --port "$port" "$@" 2>&1); rc=$?
  [[ $rc == 2 && $out == *"--icecast"*"$want"* ]] || lc_fail "loopcast $* → rc $rc: $out"
  [[ $out != *"s3cr"* ]] || lc_fail "the password is in the message: $out"
}
bad "icecast:// or icecasts://" --icecast "http://source:$PW_URL@127.0.0.1:$m_port/live.opus"
bad "1..65535" --icecast "icecast://source:$PW_URL@127.0.0.1:70000/live.opus"
bad "1..65535" --icecast "icecast://source:$PW_URL@127.0.0.1:0/live.opus"
bad "no password" --icecast "icecast://127.0.0.1:$m_port/live.opus"
bad "no mount" --icecast "icecast://source:$PW_URL@127.0.0.1:$m_port"
bad "no stream called 'nope'" --icecast "nope=$good"
lc_pass "bad --icecast values: exit 2 naming the flag (scheme, port 0/70000, password, mount, stream)"

# ---- 2. pushing, with a wrong password and a dead target beside ----------------------------------
# the master also speaks TLS on tls_port, with a certificate for "localhost" (deploy/make-cert.sh)
"$LC_ROOT/deploy/make-cert.sh" --dir "$LC_TMP/tls" --no-detect localhost >/dev/null 2>&1 || lc_fail "make-cert.sh"
cat "$LC_TMP/tls/tls-cert.pem" "$LC_TMP/tls/tls-key.pem" >"$LC_TMP/tls/icecast.pem"
chmod 755 "$LC_TMP/tls" && chmod 644 "$LC_TMP/tls/icecast.pem" # icecast2 runs as nobody
tls_port=$(lc_free_port)
lc_icecast_conf master "$m_port" "$PW" \
  "<listen-socket><port>$tls_port</port><bind-address>127.0.0.1</bind-address><ssl>1</ssl></listen-socket>" \
  "$LC_TMP/tls/icecast.pem"
lc_icecast_start master "$m_port"
master_pid=$ICE_PID
SSL_CERT_FILE=$LC_TMP/tls/tls-ca.crt \
lc_start_server "$LC_TMP/lc.log" --bind 127.0.0.1 --port "$port" --state-dir "$LC_TMP/state" \
  --mdns off --stream a=tone:440 --stream b=tone:1000 \
  --icecast "$good" --icecast "b=icecast://source:$PW_URL@127.0.0.1:$m_port/b.opus" \
  --icecast "icecast://source:wrong-pw@127.0.0.1:$m_port/wrong.opus" \
  --icecast "icecast://source:$PW_URL@127.0.0.1:$dead_port/dead.opus" \
  --icecast "icecasts://source:$PW_URL@localhost:$tls_port/tls.opus" \
  --icecast "icecasts://source:$PW_URL@127.0.0.1:$tls_port/tls-by-ip.opus"
token=$(cat "$LC_TMP/state/api-token")
lc_icecast_wait_mount "$m_port" live.opus 10 && lc_icecast_wait_mount "$m_port" b.opus 10 &&
  lc_icecast_wait_mount "$m_port" tls.opus 10 ||
  { cat "$LC_TMP/lc.log"; lc_fail "the master has no live.opus/b.opus: $(lc_icecast_mounts "$m_port")"; }
sleep 2.5 # the wrong-password and dead targets fail and retry meanwhile
status=$(curl -sf -H "Authorization: Bearer $token" "http://127.0.0.1:$port/api/v1/status") || lc_fail "GET status"
python3 - "$status" <<'PY' || lc_fail "status.icecast: $status"
import json, sys
ic = json.loads(sys.argv[1])["icecast"]
assert [t["state"] for t in ic] == ["live", "live", "retrying", "retrying", "live", "retrying"], ic
assert [t["stream"] for t in ic] == ["a", "b", "a", "a", "a", "a"], ic
assert ic[0]["url"].startswith("icecast://source@127.0.0.1:") and ic[0]["url"].endswith("/live.opus"), ic[0]
assert ic[0]["error"] is None and ic[0]["connects"] == 1 and ic[0]["packets_sent"] > 20, ic[0]
assert "refused the login" in ic[2]["error"] and ic[2]["failures"] >= 2 and ic[2]["retry_in_ms"] >= 1000, ic[2]
assert "cannot connect" in ic[3]["error"] and ic[3]["connects"] == 0, ic[3]
assert ic[4]["url"].startswith("icecasts://source@localhost:"), ic[4]
assert "TLS certificate is not trusted for that name" in ic[5]["error"], ic[5]
PY
lc_pass "status: three targets live (one over TLS), the wrong password, the dead port and a TLS name mismatch retrying with their reasons"
stats=$(curl -sf -u admin:admin-pw "http://127.0.0.1:$m_port/admin/stats") || lc_fail "icecast admin/stats"
grep -q '<server_name>loopcast a on ' <<<"$stats" && grep -q '<server_description>what this machine plays' <<<"$stats" ||
  lc_fail "the mount's name and description: $(grep -o '<server_[a-z]*>[^<]*' <<<"$stats" | head -4)"
grep -q "wrong.opus: .*refused the login.*retrying in" "$LC_TMP/lc.log" && grep -q "dead.opus: cannot connect" "$LC_TMP/lc.log" ||
  lc_fail "no log line for the failing targets: $(grep icecast "$LC_TMP/lc.log")"
m=$(curl -sf "http://127.0.0.1:$port/metrics")
grep -q "^loopcast_icecast_up{target=\"icecast://source@127.0.0.1:$m_port/live.opus\",stream=\"a\"} 1$" <<<"$m" &&
  grep -q "^loopcast_icecast_up{target=\"icecast://source@127.0.0.1:$m_port/wrong.opus\",stream=\"a\"} 0$" <<<"$m" ||
  lc_fail "metrics: $(grep icecast_up <<<"$m")"
curl -sf "http://127.0.0.1:$port/readyz" >/dev/null || lc_fail "/readyz not ready while a target fails"
for f in "$LC_TMP/lc.log" <(echo "$status") <(echo "$m"); do
  ! grep -q -e 's3cr' -e 'wrong-pw' "$f" || lc_fail "a password leaked: $(grep -e s3cr -e wrong-pw "$f")"
done
lc_pass "log lines, /metrics (icecast_up 1/0), /readyz still ready; no password anywhere"

# ---- 3. a relay, and the WebSocket listeners beside it ---------------------------------------------
lc_icecast_conf relay "$r_port" "$PW" "<relay><server>127.0.0.1</server><port>$m_port</port><mount>/live.opus</mount>
  <local-mount>/relay.opus</local-mount><on-demand>0</on-demand><relay-shoutcast-metadata>0</relay-shoutcast-metadata></relay>"
lc_icecast_start relay "$r_port"
lc_icecast_wait_mount "$r_port" relay.opus 10 || lc_fail "the relay did not pick up live.opus: $(cat "$LC_TMP/relay/error.log")"
"$LC_BENCH" listeners --port "$port" -n 4 --decode 2 --expect-hz 440 --no-drops --max-gap-ms 200 \
  --warmup 0.5 --seconds 5 --quiet >"$LC_TMP/bench.txt" 2>&1 &
bench=$!
read -r fr rr _ <<<"$(lc_decode_tone 3 "http://127.0.0.1:$r_port/relay.opus")"
read -r fb _ _ <<<"$(lc_decode_tone 2 "http://127.0.0.1:$m_port/b.opus")"
python3 -c "import sys; fr,rr,fb=map(float,sys.argv[1:]); assert abs(fr-440)<3 and rr>0.05 and abs(fb-1000)<3" "$fr" "$rr" "$fb" ||
  lc_fail "decoded $fr Hz (rms $rr) from the relay, $fb Hz from the master's b.opus"
wait $bench || { cat "$LC_TMP/bench.txt"; lc_fail "WebSocket listeners while pushing (full rate, 440 Hz, no drop)"; }
lc_pass "ffmpeg hears $fr Hz through the relay, $fb Hz on b.opus; 4 WebSocket listeners at full rate meanwhile"

# ---- 4. the master goes away and comes back -------------------------------------------------------
"$node_bin" "$(dirname "$0")/icecast_events.mjs" "$port" "$token" >"$LC_TMP/events.txt" 2>&1 &
events=$!
sleep 1
kill -TERM "$master_pid"; wait "$master_pid" 2>/dev/null
sleep 2
lc_icecast_start master "$m_port"
lc_icecast_wait_mount "$m_port" live.opus 20 || lc_fail "loopcast did not come back to the master: $(grep icecast "$LC_TMP/lc.log" | tail -5)"
wait $events
grep -q '^hello live$' "$LC_TMP/events.txt" && grep -q '^down .' "$LC_TMP/events.txt" && grep -q '^up 2$' "$LC_TMP/events.txt" ||
  lc_fail "events: $(cat "$LC_TMP/events.txt")"
read -r fm _ _ <<<"$(lc_decode_tone 2 "http://127.0.0.1:$m_port/live.opus")"
python3 -c "import sys; assert abs(float(sys.argv[1])-440)<3" "$fm" || lc_fail "after the reconnect: $fm Hz"
lc_pass "master restarted: events 'retrying' ($(sed -n 's/^down //p' "$LC_TMP/events.txt")) then 'live', $fm Hz again"
lc_stop_server TERM || lc_fail "exit status after SIGTERM with pushers live"
lc_pass "SIGTERM with six pushers: exit 0"

# ---- 5. the variable ------------------------------------------------------------------------------
LOOPCAST_ICECAST="$good  b=icecast://source:$PW_URL@127.0.0.1:$m_port/b2.opus" \
  lc_start_server "$LC_TMP/env.log" --bind 127.0.0.1 --port "$port" --state-dir "$LC_TMP/state" \
  --mdns off --stream a=tone:440 --stream b=tone:1000
lc_icecast_wait_mount "$m_port" b2.opus 10 || lc_fail "LOOPCAST_ICECAST's second target is not live: $(lc_icecast_mounts "$m_port")"
n=$(curl -sf -H "Authorization: Bearer $token" "http://127.0.0.1:$port/api/v1/status" |
  python3 -c 'import json,sys; print(len(json.load(sys.stdin)["icecast"]))')
[[ $n == 2 ]] || lc_fail "LOOPCAST_ICECAST with two targets: status lists $n"
lc_stop_server TERM || lc_fail "exit status after SIGTERM"
lc_pass "LOOPCAST_ICECAST: two targets separated by spaces, both pushed"
