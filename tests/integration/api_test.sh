#!/usr/bin/env bash
# The REST API contract over HTTP with curl (docs/api.md, docs/openapi.yaml): every endpoint, every
# error status with a JSON error body, and that a refused request changes nothing. Also: the
# generated token file (mode 0600, printed once in the log, reused after a restart), the
# wrong-token rate limit (429) and the API metrics.
source "$(dirname "$0")/../lib.sh"
command -v python3 >/dev/null || lc_fail "python3 needed for JSON checks"
port=$(lc_free_port)
state="$LC_TMP/state"
lc_start_server "$LC_TMP/api.log" --source tone:440 --bind 127.0.0.1 --port "$port" --state-dir "$state"
base="http://127.0.0.1:$port/api/v1"

# ---- the generated token ------------------------------------------------------------------------
[[ -f "$state/api-token" ]] || lc_fail "no $state/api-token"
mode=$(stat -c %a "$state/api-token")
[[ $mode == 600 ]] || lc_fail "api-token has mode $mode, expected 600"
token=$(head -1 "$state/api-token")
((${#token} >= 40)) || lc_fail "generated token is short: ${#token} characters"
n=$(grep -c -- "$token" "$LC_TMP/api.log")
((n == 1)) || lc_fail "token appears $n times in the log, expected once"
grep -q "API token generated: $token (saved in $state/api-token" "$LC_TMP/api.log" || lc_fail "no 'API token generated' line"
lc_pass "token: generated, $state/api-token mode 600, printed once"

AUTH="Authorization: Bearer $token"
JSON="Content-Type: application/json"
ID=9f1c2d3e-4b5a-4c6d-8e7f-0123456789ab
# req METHOD PATH [curl args...]: sets $code, $body, headers in $LC_TMP/h
req() {
  local m=$1 p=$2; shift 2
  body=$(curl -sS --max-time 5 -D "$LC_TMP/h" -o - -X "$m" "$@" "$base$p") || lc_fail "curl $m $p failed"
  code=$(head -1 "$LC_TMP/h" | awk '{print $2}')
}
expect() { # STATUS ERROR_CODE_OR_- what
  [[ $code == "$1" ]] || lc_fail "$3: status $code, expected $1 (body: $body)"
  if [[ $2 != - ]]; then
    grep -qi '^content-type: application/json' "$LC_TMP/h" || lc_fail "$3: not JSON"
    python3 -c 'import json,sys; e=json.loads(sys.argv[1])["error"]; assert e["code"]==sys.argv[2] and e["message"], e' \
      "$body" "$2" 2>/dev/null || lc_fail "$3: error body $body, expected code $2"
  fi
}
jget() { python3 -c 'import json,sys; v=json.loads(sys.argv[1]); [v:=v[k] if not k.isdigit() else v[int(k)] for k in sys.argv[2].split(".")]; print(json.dumps(v))' "$body" "$1"; }

# ---- every endpoint -----------------------------------------------------------------------------
req GET /status -H "$AUTH"; expect 200 - "GET /status"
python3 - "$body" <<'PY' || lc_fail "status body does not match the Status schema: $body"
import json, sys
s = json.loads(sys.argv[1])
for k in ["version", "uptime_s", "source", "codec", "listeners", "sessions", "store"]: assert k in s, k
import socket; assert s["host"] == socket.gethostname().split(".")[0], s.get("host")
assert s["source"]["uri"] == "tone:440" and s["source"]["state"] in ("starting", "running") and "error" in s["source"]
c = s["codec"]; assert c["name"] == "opus" and c["sample_rate"] == 48000 and c["channels"] == 2 and c["frame_ms"] == 20 and c["bitrate"] == 128000
assert s["store"]["ok"] is True and s["store"]["error"] is None and isinstance(s["store"]["writes"], int)
PY
req GET "/status?pretty=1" -H "$AUTH"; expect 200 - "GET /status with a query string"
req GET /sessions -H "$AUTH"; expect 200 - "GET /sessions"
[[ $body == '{"sessions":[]}' ]] || lc_fail "fresh server lists sessions: $body"
req PUT /sessions/$ID -H "$AUTH" -H "$JSON" -d '{"volume":25,"name":"Bedroom"}'; expect 201 - "PUT new"
[[ $(jget volume) == 25 && $(jget name) == '"Bedroom"' && $(jget persist) == true ]] || lc_fail "PUT new body: $body"
req PUT /sessions/${ID^^} -H "$AUTH" -H "$JSON" -d '{"volume":30,"muted":true,"name":"Bedroom"}'; expect 200 - "PUT existing (upper-case id)"
req PATCH /sessions/$ID -H "$AUTH" -H "$JSON" -d '{"volume":40,"name":"Kitchen"}'; expect 200 - "PATCH"
[[ $(jget volume) == 40 && $(jget muted) == true && $(jget name) == '"Kitchen"' && $(jget connected) == false ]] || lc_fail "PATCH body: $body"
req GET /sessions/$ID -H "$AUTH"; expect 200 - "GET one"
python3 - "$body" <<'PY' || lc_fail "session body does not match the Session schema: $body"
import json, sys
s = json.loads(sys.argv[1])
for k in "id name volume muted persist created last_seen connected connections remote_address user_agent packets_sent packets_dropped delay_ms decoder output".split(): assert k in s, k
PY
req GET /sessions -H "$AUTH"; expect 200 - "GET /sessions"
[[ $(jget sessions.0.id) == "\"$ID\"" ]] || lc_fail "list: $body"
lc_pass "GET /status, GET /sessions, PUT (201, 200), PATCH, GET one"

# ---- every refusal, and nothing changes ---------------------------------------------------------
req GET /sessions/$ID -H "$AUTH"; before=$body
unchanged() { req GET /sessions/$ID -H "$AUTH"; [[ $body == "$before" ]] || lc_fail "$1 changed the session: $body"; }
req PATCH /sessions/$ID -H "$AUTH" -H "$JSON" -d '{"volume":'; expect 400 invalid_body "malformed JSON"; unchanged "malformed JSON"
req PATCH /sessions/$ID -H "$AUTH" -H "$JSON" -d '{"volume":"50"}'; expect 400 invalid_body "wrong type"; unchanged "wrong type"
req PATCH /sessions/$ID -H "$AUTH" -H "$JSON" -d '{"volume":101}'; expect 400 invalid_body "volume 101"; unchanged "volume 101"
req PATCH /sessions/$ID -H "$AUTH" -H "$JSON" -d '{"volume":50.5}'; expect 400 invalid_body "volume 50.5"; unchanged "volume 50.5"
req PATCH /sessions/$ID -H "$AUTH" -H "$JSON" -d '{"volume":50,"colour":"red"}'; expect 400 invalid_body "unknown field"; unchanged "unknown field"
req PATCH /sessions/$ID -H "$AUTH" -H "$JSON" -d "{\"name\":\"$(printf 'x%.0s' {1..65})\"}"; expect 400 invalid_body "name of 65 bytes"; unchanged "long name"
req PATCH /sessions/$ID -H "$AUTH" -H "$JSON" -d '{"name":"a\u0007b"}'; expect 400 invalid_body "control character"; unchanged "control character"
req PATCH /sessions/$ID -H "$AUTH" -H "$JSON" -d '[1]'; expect 400 invalid_body "not an object"; unchanged "array body"
req PATCH /sessions/$ID -H "$AUTH" -H "$JSON"; expect 400 invalid_body "PATCH without a body"; unchanged "empty PATCH"
req PUT /sessions/$ID -H "$AUTH" -H "$JSON"; expect 400 invalid_body "PUT without a body"; unchanged "empty PUT"
req PATCH /sessions/not-a-guid -H "$AUTH" -H "$JSON" -d '{"volume":1}'; expect 400 invalid_id "bad id"
req GET /sessions/9f1c2d3e-4b5a-4c6d-8e7f-0123456789 -H "$AUTH"; expect 400 invalid_id "short id"
req PATCH /sessions/$ID -H "$JSON" -d '{"volume":1}'; expect 401 unauthorized "no token"
grep -qi '^www-authenticate: Bearer' "$LC_TMP/h" || lc_fail "401 without WWW-Authenticate"; unchanged "no token"
req PATCH /sessions/$ID -H "Authorization: Bearer wrong$token" -H "$JSON" -d '{"volume":1}'; expect 401 unauthorized "wrong token"
grep -qi '^www-authenticate: Bearer' "$LC_TMP/h" || lc_fail "401 without WWW-Authenticate"; unchanged "wrong token"
req GET /nope -H "$AUTH"; expect 404 not_found "unknown path"
req GET /sessions/11111111-2222-4333-8444-555555555555 -H "$AUTH"; expect 404 not_found "unknown session"
req PATCH /sessions/11111111-2222-4333-8444-555555555555 -H "$AUTH" -H "$JSON" -d '{"volume":1}'; expect 404 not_found "PATCH unknown session"
req DELETE /sessions/11111111-2222-4333-8444-555555555555 -H "$AUTH"; expect 404 not_found "DELETE unknown session"
req POST /status -H "$AUTH"; expect 405 method_not_allowed "POST /status"
grep -qi '^allow: GET' "$LC_TMP/h" || lc_fail "405 without Allow"
req POST /sessions/$ID -H "$AUTH" -H "$JSON" -d '{"volume":1}'; expect 405 method_not_allowed "POST a session"
grep -qi '^allow: GET, PATCH, PUT, DELETE' "$LC_TMP/h" || lc_fail "405 on a session without its Allow"; unchanged "POST"
head -c 20480 /dev/zero | tr '\0' ' ' >"$LC_TMP/big"; printf '{"volume":1}' >>"$LC_TMP/big"
req PATCH /sessions/$ID -H "$AUTH" -H "$JSON" --data-binary @"$LC_TMP/big"; expect 413 body_too_large "20 KB body"; unchanged "20 KB body"
req PATCH /sessions/$ID -H "$AUTH" -d '{"volume":1}'; expect 415 unsupported_media_type "form content type"; unchanged "form content type"
req PATCH /sessions/$ID -H "$AUTH" -H 'Content-Type: text/plain' -d '{"volume":1}'; expect 415 unsupported_media_type "text/plain"; unchanged "text/plain"
# after all that, the same connection still works (bodies were consumed, not parsed as requests)
codes=$(curl -sS -o /dev/null -w '%{http_code} ' -X PATCH -H "$AUTH" -H "$JSON" --data-binary @"$LC_TMP/big" "$base/sessions/$ID" \
        --next -o /dev/null -w '%{http_code} %{num_connects}' -H "$AUTH" "$base/status")
[[ $codes == "413 200 0" ]] || lc_fail "keep-alive after a 413: $codes"
lc_pass "400 (JSON, type, range, unknown field, name, id), 401 (+WWW-Authenticate), 404, 405 (+Allow), 413, 415: JSON errors, nothing changed"

req DELETE /sessions/$ID -H "$AUTH"; expect 204 - "DELETE"
req DELETE /sessions/$ID -H "$AUTH"; expect 404 not_found "DELETE again"
req GET /sessions -H "$AUTH"; [[ $body == '{"sessions":[]}' ]] || lc_fail "after DELETE: $body"
lc_pass "DELETE 204, then 404"

# ---- 409: table full of connected sessions ------------------------------------------------------
port2=$(lc_free_port)
pid1=$LC_PID
lc_start_server "$LC_TMP/api2.log" --source tone:440 --bind 127.0.0.1 --port "$port2" --state-dir "$LC_TMP/state2" --max-sessions 1 --frame-ms 10 --sync-ms 250
"$LC_BENCH" listeners --port "$port2" --seconds 3 --warmup 0.1 --quiet >/dev/null &
LC_PIDS+=($!)
sleep 0.8
tok2=$(cat "$LC_TMP/state2/api-token")
code=$(curl -sS -o "$LC_TMP/b" -w '%{http_code}' -X PUT -H "Authorization: Bearer $tok2" -H "$JSON" -d '{"volume":1}' \
       "http://127.0.0.1:$port2/api/v1/sessions/$ID")
[[ $code == 409 ]] && grep -q '"code":"table_full"' "$LC_TMP/b" || lc_fail "PUT into a full table: $code $(cat "$LC_TMP/b")"
# --frame-ms 10 encodes with the low-delay application (2.5 ms lookahead: 120 samples), the
# default 20 ms frames with the audio one (6.5 ms: 312), as /status's codec says.
codec10=$(curl -sS -H "Authorization: Bearer $tok2" "http://127.0.0.1:$port2/api/v1/status" \
          | python3 -c 'import json,sys; j=json.load(sys.stdin); c=j["codec"]; print(c["frame_ms"], c["lookahead"], j["sync_ms"])')
codec20=$(curl -sS -H "$AUTH" "$base/status" | python3 -c 'import json,sys; j=json.load(sys.stdin); c=j["codec"]; print(c["frame_ms"], c["lookahead"], j["sync_ms"])')
[[ $codec10 == "10 120 250" && $codec20 == "20 312 0" ]] || lc_fail "codec frame_ms/lookahead, sync_ms: '$codec10' at --frame-ms 10 --sync-ms 250, '$codec20' at the defaults"
lc_stop_server TERM || lc_fail "second server exit status"
LC_PID=$pid1
lc_pass "409 table_full when every stored session is connected; lookahead 120 at 10 ms frames, 312 at 20; /status sync_ms 250 with --sync-ms 250, 0 by default"

# ---- restart: the token is reused, not printed again --------------------------------------------
lc_stop_server TERM || lc_fail "exit status after SIGTERM"
lc_start_server "$LC_TMP/api3.log" --source tone:440 --bind 127.0.0.1 --port "$port" --state-dir "$state"
[[ $(head -1 "$state/api-token") == "$token" ]] || lc_fail "token changed over a restart"
grep -q -- "$token" "$LC_TMP/api3.log" && lc_fail "restarted server printed the token again"
req GET /status -H "$AUTH"; expect 200 - "old token after restart"
req PUT /sessions/$ID -H "$AUTH" -H "$JSON" -d '{"volume":7}'; expect 201 - "PUT after restart"
sleep 0.5 # one coalesced store write (flush delay 200 ms)
req DELETE /sessions/$ID -H "$AUTH"; expect 204 - "DELETE after restart"
lc_pass "restart: same token, not printed again"

# ---- wrong-token rate limit (last: it blocks this address for a minute) ------------------------
for i in $(seq 1 10); do
  req GET /status -H "Authorization: Bearer nope$i"; expect 401 unauthorized "wrong token $i"
done
req GET /status -H "$AUTH"; expect 429 too_many_requests "right token after 10 wrong ones"
grep -qi '^retry-after: [0-9]' "$LC_TMP/h" || lc_fail "429 without Retry-After"
grep -q "wrong API token from 127.0.0.1" "$LC_TMP/api3.log" || lc_fail "wrong tokens not logged with the address"
grep -q "nope" "$LC_TMP/api3.log" && lc_fail "a wrong token was logged"
m=$(curl -sS "http://127.0.0.1:$port/metrics")
grep -q '^loopcast_api_auth_failures_total 10$' <<<"$m" || lc_fail "auth failures metric: $(grep auth_fail <<<"$m")"
grep -q '^loopcast_api_requests_total{code="429"} 1$' <<<"$m" || lc_fail "429 not counted"
grep -q '^loopcast_api_requests_total{code="200"} [0-9]' <<<"$m" || lc_fail "200 not counted"
grep -q '^loopcast_sessions 0$' <<<"$m" || lc_fail "sessions metric"
grep -q '^loopcast_store_writes_total [1-9]' <<<"$m" || lc_fail "store writes metric: $(grep store_writes <<<"$m")"
grep -q '^loopcast_events_clients 0$' <<<"$m" || lc_fail "events clients metric"
lc_stop_server TERM || lc_fail "exit status after SIGTERM"
lc_pass "10 wrong tokens -> 429 with Retry-After, logged by address only; API metrics"
