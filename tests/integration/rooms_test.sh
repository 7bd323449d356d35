#!/usr/bin/env bash
# Several streams and groups of listeners (issue 14), with the real server:
#   1. bad --stream values exit 2 with a message naming the flag (and the stream);
#   2. each stream is its own capture and encoder: a listener of stream a decodes 440 Hz, one of
#      b 1000 Hz, at the same time; GET /api/v1/streams, status.streams, per-stream /metrics;
#   3. a stream whose source fails keeps its listeners connected (packets of silence) while
#      /readyz stays 200 and names it not ready; the others are unaffected;
#   4. the page's and the panel's view (rooms_ws.mjs): switching streams, groups, events;
#   5. the group API's refusals (404, 400, 405, 409) change nothing; groups and each session's
#      stream survive a restart (store version 2), and a version-1 store still loads.
source "$(dirname "$0")/../lib.sh"
DIR=$(cd "$(dirname "$0")" && pwd)
[[ -x "$LC_BENCH" ]] || lc_fail "no loopcast-bench at $LC_BENCH"
command -v node >/dev/null || lc_fail "node is not installed"
command -v python3 >/dev/null || lc_fail "python3 needed for JSON checks"

# ---- 1. bad flags --------------------------------------------------------------------------------
bad_flag() { # expected-message args...
  local want=$1; shift
  out=$("$LOOPCAST_BIN" --port 1 --state-dir "$LC_TMP/never" "$@" 2>&1); rc=$?
  ((rc == 2)) || lc_fail "'$*': exit $rc, expected 2 ($out)"
  grep -qF -- "$want" <<<"$out" || lc_fail "'$*': message '$out' lacks '$want'"
}
bad_flag "--stream: 'tv' is not NAME=URI" --stream tv
bad_flag "--stream x: " --stream x=nosuch:1
bad_flag "--stream: stream 'a' is named twice" --stream a=tone:1 --stream a=tone:2
LOOPCAST_STREAMS="a=tone:1 b" bad_flag "LOOPCAST_STREAMS: 'b' is not NAME=URI" --bind 127.0.0.1
lc_pass "bad --stream values: exit 2, the flag and the stream named"

# ---- 2. two streams at once -----------------------------------------------------------------------
port=$(lc_free_port)
state="$LC_TMP/state"
mkfifo "$LC_TMP/fifo"
lc_start_server "$LC_TMP/rooms.log" --bind 127.0.0.1 --port "$port" --state-dir "$state" \
  --stream a=tone:440 --stream b=tone:1000 --stream c=tone:300 --stream "d=pipe:$LC_TMP/fifo"
token=$(head -1 "$state/api-token")
AUTH="Authorization: Bearer $token"
JSON="Content-Type: application/json"
base="http://127.0.0.1:$port/api/v1"
A=aaaaaaaa-1111-4111-8111-111111111111
B=bbbbbbbb-1111-4111-8111-111111111111
curl -sf -X PUT -H "$AUTH" -H "$JSON" -d '{"stream":"b"}' "$base/sessions/$B" >/dev/null || lc_fail "PUT b"
"$LC_BENCH" listeners --port "$port" --path "/stream?session=$A" --decode 1 --seconds 3 --expect-hz 440 \
  --no-drops --quiet > "$LC_TMP/la.out" 2>&1 &
la=$!
"$LC_BENCH" listeners --port "$port" --path "/stream?session=$B" --decode 1 --seconds 3 --expect-hz 1000 \
  --no-drops --quiet > "$LC_TMP/lb.out" 2>&1 || { cat "$LC_TMP/lb.out"; lc_fail "stream b's listener"; }
wait $la || { cat "$LC_TMP/la.out"; lc_fail "stream a's listener"; }
grep -h "^RESULT" "$LC_TMP/la.out" "$LC_TMP/lb.out" | sed 's/^/  /'
lc_pass "two listeners at once: stream a decodes 440 Hz, stream b 1000 Hz, no drops"

body=$(curl -sf -H "$AUTH" "$base/streams") || lc_fail "GET /streams"
python3 - "$body" <<'PY' || lc_fail "GET /streams: $body"
import json, sys
s = json.loads(sys.argv[1])["streams"]
assert [x["name"] for x in s] == ["a", "b", "c", "d"], s
assert s[0]["uri"] == "tone:440" and s[0]["state"] == "running" and s[0]["error"] is None
assert all(isinstance(x["listeners"], int) for x in s)
PY
body=$(curl -sf -H "$AUTH" "$base/status") || lc_fail "GET /status"
python3 - "$body" <<'PY' || lc_fail "status: $body"
import json, sys
s = json.loads(sys.argv[1])
assert s["source"]["uri"] == "tone:440", s["source"]
assert [x["name"] for x in s["streams"]] == ["a", "b", "c", "d"]
PY
m=$(curl -sf "http://127.0.0.1:$port/metrics") || lc_fail "GET /metrics"
for s in a b; do
  n=$(grep "^loopcast_stream_packets_encoded_total{stream=\"$s\"}" <<<"$m" | awk '{print $2}')
  ((n > 100)) || lc_fail "metrics: stream $s encoded $n packets"
  s2=$(grep "^loopcast_stream_packets_sent_total{stream=\"$s\"}" <<<"$m" | awk '{print $2}')
  ((s2 >= 100)) || lc_fail "metrics: stream $s sent $s2 packets"
done
lc_pass "GET /api/v1/streams, status.streams (source = the first), per-stream metrics"

# ---- 3. a failed stream ---------------------------------------------------------------------------
exec 7>"$LC_TMP/fifo"
head -c 96000 /dev/zero >&7
exec 7>&-
sleep 1.5
code=$(curl -s -o "$LC_TMP/ready" -w '%{http_code}' "http://127.0.0.1:$port/readyz")
python3 - "$(cat "$LC_TMP/ready")" <<'PY' || lc_fail "/readyz ($code): $(cat "$LC_TMP/ready")"
import json, sys
r = json.loads(sys.argv[1])
assert r["ready"] is True
d = {s["name"]: s for s in r["streams"]}
assert d["a"]["ready"] is True and d["b"]["ready"] is True
assert d["d"]["ready"] is False and d["d"]["state"] != "running" and "pipe" in d["d"]["reason"], d["d"]
PY
[[ $code == 200 ]] || lc_fail "/readyz: $code while only stream d failed"
D=dddddddd-1111-4111-8111-111111111111
curl -sf -X PUT -H "$AUTH" -H "$JSON" -d '{"stream":"d"}' "$base/sessions/$D" >/dev/null || lc_fail "PUT d"
out=$("$LC_BENCH" listeners --port "$port" --path "/stream?session=$D" --seconds 2 --quiet 2>&1) ||
  { echo "$out"; lc_fail "stream d's listener"; }
python3 - "$(grep "^RESULT" <<<"$out" | sed "s/^RESULT //")" <<'PY' || lc_fail "failed stream's listener: $out"
import json, sys
r = json.loads(sys.argv[1]); assert r["open"] == 1 and r["packets"] >= 90, r
PY
grep '^loopcast_stream_up' <<<"$(curl -sf "http://127.0.0.1:$port/metrics")" | sed 's/^/  /'
lc_pass "stream d's source failed: /readyz 200 naming d not ready, d's listener still gets packets (silence)"

# ---- 4. the page's and the panel's view -------------------------------------------------------------
node "$DIR/rooms_ws.mjs" "$port" "$token" || lc_fail "rooms_ws.mjs (above)"

# ---- 5. refusals, then a restart ---------------------------------------------------------------------
req() { local m=$1 p=$2; shift 2; code=$(curl -s -o "$LC_TMP/b" -w '%{http_code}' -X "$m" -H "$AUTH" "$@" "$base$p"); body=$(cat "$LC_TMP/b"); }
G=99999999-1111-4111-8111-111111111111
req PUT /groups/$G -H "$JSON" -d '{"name":"Den","stream":"b","volume":70,"sessions":["'$A'"]}'
[[ $code == 201 ]] || lc_fail "PUT group: $code $body"
before=$(curl -sf -H "$AUTH" "$base/groups")
req PATCH /groups/11111111-0000-4000-8000-000000000000 -H "$JSON" -d '{"volume":5}'
[[ $code == 404 ]] || lc_fail "PATCH unknown group: $code"
req PATCH /groups/$G -H "$JSON" -d '{"stream":"nope"}'
[[ $code == 400 ]] && grep -q invalid_body "$LC_TMP/b" || lc_fail "unknown stream in a group body: $code $body"
req PATCH /groups/$G -H "$JSON" -d '{"volume":5,"sessions":["12345678-1111-4111-8111-111111111111"]}'
[[ $code == 400 ]] && grep -q "no session" "$LC_TMP/b" || lc_fail "unknown session in a group body: $code $body"
req PATCH /sessions/$B -H "$JSON" -d '{"group":"12345678-1111-4111-8111-111111111111"}'
[[ $code == 400 ]] && grep -q invalid_body "$LC_TMP/b" || lc_fail "unknown group in a session body: $code $body"
req PATCH /groups/$G -H "$JSON" -d '{"volume":101}'
[[ $code == 400 ]] || lc_fail "group volume 101: $code"
req PATCH /groups/$G -H "$JSON" -d '{"sync_delay_ms":3001}'
[[ $code == 400 ]] || lc_fail "sync_delay_ms 3001: $code"
req PATCH /groups/$G -H "$JSON" -d '{"colour":"red"}'
[[ $code == 400 ]] && grep -q "unknown field" "$LC_TMP/b" || lc_fail "unknown field: $code $body"
req PATCH /groups/not-a-guid -H "$JSON" -d '{}'
[[ $code == 400 ]] || lc_fail "malformed group id: $code"
req POST /groups/$G -H "$JSON" -d '{}'
[[ $code == 405 ]] || lc_fail "POST on a group: $code"
req PATCH /sessions/$A -H "$JSON" -d '{"stream":"c"}'
[[ $code == 409 ]] && grep -q in_group "$LC_TMP/b" || lc_fail "stream of a grouped session: $code $body"
after=$(curl -sf -H "$AUTH" "$base/groups")
[[ $before == "$after" ]] || lc_fail "a refused request changed the groups: $before → $after"
# a session joins through its own PATCH
req PATCH /sessions/$B -H "$JSON" -d '{"group":"'$G'"}'
[[ $code == 200 ]] && grep -q "\"group\":\"$G\"" "$LC_TMP/b" || lc_fail "PATCH session group: $code $body"
lc_pass "groups: 404 unknown id, 400 unknown stream/session/group, bad values, unknown field; 405; 409 in_group; nothing changed"

lc_stop_server TERM || lc_fail "exit status after SIGTERM"
grep -q '"version":2' "$state/sessions.json" || lc_fail "store not version 2 with a group: $(cat "$state/sessions.json")"
lc_start_server "$LC_TMP/rooms2.log" --bind 127.0.0.1 --port "$port" --state-dir "$state" \
  --stream a=tone:440 --stream b=tone:1000 --stream c=tone:300
body=$(curl -sf -H "$AUTH" "$base/groups/$G") || lc_fail "GET group after restart"
python3 - "$body" "$A" "$B" <<'PY' || lc_fail "group after restart: $body"
import json, sys
g = json.loads(sys.argv[1])
assert g["name"] == "Den" and g["stream"] == "b" and g["volume"] == 70 and sorted(g["sessions"]) == sorted(sys.argv[2:4]), g
PY
body=$(curl -sf -H "$AUTH" "$base/sessions/$D") || lc_fail "GET session d after restart"
# stream d is not configured any more: the session hears the first stream, its choice is kept
grep -q '"stream":"a"' <<<"$body" || lc_fail "session on a removed stream: $body"
grep -q '"stream":"d"' "$state/sessions.json" || lc_fail "the session's own choice was lost: $(cat "$state/sessions.json")"
lc_stop_server TERM || lc_fail "exit status after SIGTERM"
lc_pass "restart: the group, its members and each session's stream survive (store version 2)"

# a version-1 file (written before groups) loads
state1="$LC_TMP/state1"
mkdir -p "$state1"
echo '{"version":1,"sessions":[{"id":"'$A'","name":"Old","volume":33,"muted":false,"created":1,"last_seen":2}]}' > "$state1/sessions.json"
lc_start_server "$LC_TMP/rooms3.log" --bind 127.0.0.1 --port "$port" --state-dir "$state1" --source tone:440
body=$(curl -sf -H "Authorization: Bearer $(head -1 "$state1/api-token")" "$base/sessions/$A") || lc_fail "GET v1 session"
grep -q '"volume":33' <<<"$body" && grep -q '"stream":"default"' <<<"$body" && grep -q '"group":null' <<<"$body" ||
  lc_fail "version-1 session: $body"
lc_stop_server TERM || lc_fail "exit status after SIGTERM"
grep -q '"version":1' "$state1/sessions.json" || lc_fail "a store without groups must stay version 1: $(cat "$state1/sessions.json")"
lc_pass "a version-1 store loads (and stays version 1 while there are no groups)"
