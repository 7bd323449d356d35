#!/usr/bin/env bash
# Sessions that persist by GUID, end to end with the real server, loopcast-bench listeners (a C
# lws WebSocket client) and curl:
#   1. a listener's session (GUID learnt from its hello) is changed through the API and by its own
#      `set`; after a restart with the same --state-dir, reconnecting with that GUID gives the same
#      values in the hello and in the API;
#   2. a persist=0 session vanishes with the restart;
#   3. a malformed GUID is closed with 1008;
#   4. --max-sessions 3 and 5 distinct GUIDs: 3 stored, the evictions logged.
source "$(dirname "$0")/../lib.sh"
[[ -x "$LC_BENCH" ]] || lc_fail "no loopcast-bench at $LC_BENCH"
port=$(lc_free_port)
state="$LC_TMP/state"
base="http://127.0.0.1:$port/api/v1"
JSON="Content-Type: application/json"
start() { lc_start_server "$LC_TMP/s$1.log" --source tone:440 --bind 127.0.0.1 --port "$port" --state-dir "$state" "${@:2}"; }
listen() { "$LC_BENCH" listeners --port "$port" --seconds "${SECS:-0.5}" --warmup 0.1 --rate-tolerance 0 --quiet --print-text "$@"; }
hello_field() { grep '"type":"hello"' | head -1 | python3 -c 'import json,sys; l=sys.stdin.read().split(" ",2)[2]; print(json.dumps(json.loads(l)["session"][sys.argv[1]]))' "$1"; }

# ---- 1. a session changed by the API and by its page survives a restart ------------------------
start 1
AUTH="Authorization: Bearer $(cat "$state/api-token")"
out=$(listen --send '{"type":"set","muted":true}') || { echo "$out"; lc_fail "first listener"; }
first=$(grep -m1 '^TEXT' <<<"$out")
[[ $first == *'"type":"hello"'* ]] || lc_fail "first message is not the hello: $first"
id=$(hello_field id <<<"$out" | tr -d '"')
[[ $id =~ ^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$ ]] || lc_fail "hello session id: $id"
grep -q '"type":"session","session":{"id":"'"$id"'","name":"","volume":100,"muted":true' <<<"$out" \
  || { echo "$out"; lc_fail "the page's own set was not confirmed with a session message"; }
code=$(curl -sS -o "$LC_TMP/b" -w '%{http_code}' -X PATCH -H "$AUTH" -H "$JSON" -d '{"volume":42,"name":"Den \u00e9"}' "$base/sessions/$id")
[[ $code == 200 ]] || lc_fail "PATCH $id: $code $(cat "$LC_TMP/b")"
out=$(SECS=0.3 listen --no-persist) || lc_fail "persist=0 listener"
tmp_id=$(hello_field id <<<"$out" | tr -d '"')
[[ $(hello_field persist <<<"$out") == false ]] || lc_fail "persist=0 hello: $out"
curl -sS -f -o /dev/null -X PATCH -H "$AUTH" -H "$JSON" -d '{"volume":10}' "$base/sessions/$tmp_id" || lc_fail "PATCH temp session"
lc_stop_server TERM || lc_fail "exit status after SIGTERM"
grep -q "session store flushed" "$LC_TMP/s1.log" || lc_fail "no final store flush logged"
grep -q "$tmp_id" "$state/sessions.json" && lc_fail "a persist=0 session was written to disk"

start 2
curl -sS -f -o "$LC_TMP/b" -H "$AUTH" "$base/sessions/$id" || lc_fail "GET $id after restart"
python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); assert (s["volume"],s["name"],s["muted"],s["persist"])==(42,"Den \u00e9",True,True), s' "$LC_TMP/b" \
  || lc_fail "API after restart: $(cat "$LC_TMP/b")"
out=$(listen --session "${id^^}") || lc_fail "reconnect with the GUID"
[[ $(hello_field id <<<"$out") == "\"$id\"" && $(hello_field volume <<<"$out") == 42 && \
   $(hello_field muted <<<"$out") == true && $(hello_field name <<<"$out") == '"Den \u00e9"' ]] \
  || { echo "$out"; lc_fail "hello after restart does not carry the stored settings"; }
lc_pass "session $id: set by its page + API, restart, same values in the hello and the API"

# ---- 2. persist=0 vanished ----------------------------------------------------------------------
code=$(curl -sS -o /dev/null -w '%{http_code}' -H "$AUTH" "$base/sessions/$tmp_id")
[[ $code == 404 ]] || lc_fail "persist=0 session after restart: $code"
out=$(listen --session "$tmp_id") || lc_fail "reconnect the temp GUID"
[[ $(hello_field volume <<<"$out") == 100 && $(hello_field persist <<<"$out") == true ]] || lc_fail "temp GUID came back with old settings: $out"
lc_pass "persist=0 session gone after the restart"

# ---- 3. malformed GUID --------------------------------------------------------------------------
for bad in not-a-guid 9f1c2d3e-4b5a-4c6d-8e7f-0123456789aZ "9f1c2d3e4b5a4c6d8e7f0123456789ab"; do
  out=$(listen --session "$bad" 2>&1)
  grep -q '^CLOSE 1008 malformed session id' <<<"$out" || { echo "$out"; lc_fail "malformed id '$bad' not closed with 1008"; }
  grep -q '"type":"hello"' <<<"$out" && lc_fail "malformed id '$bad' got a hello"
done
lc_pass "malformed GUIDs closed with 1008"
lc_stop_server TERM || lc_fail "exit status after SIGTERM"

# ---- 4. table bounds ----------------------------------------------------------------------------
state="$LC_TMP/state-small"
start 3 --max-sessions 3
AUTH="Authorization: Bearer $(cat "$state/api-token")"
for i in 1 2 3 4 5; do
  listen --session "0000000$i-0000-4000-8000-000000000000" >/dev/null || lc_fail "listener $i"
done
n=$(curl -sS -H "$AUTH" "$base/sessions" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["sessions"]))')
((n == 3)) || lc_fail "$n sessions in a table of 3"
ev=$(grep -c "session table full: evicted" "$LC_TMP/s3.log")
((ev == 2)) || lc_fail "$ev evictions logged, expected 2"
grep -q "evicted 00000001-" "$LC_TMP/s3.log" && grep -q "evicted 00000002-" "$LC_TMP/s3.log" || lc_fail "the oldest were not the ones evicted"
lc_stop_server TERM || lc_fail "exit status after SIGTERM"
stored=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["sessions"]))' "$state/sessions.json")
((stored == 3)) || lc_fail "$stored sessions in sessions.json, expected 3"
lc_pass "--max-sessions 3 with 5 GUIDs: 3 stored, 2 evictions logged (oldest first)"
