#!/usr/bin/env bash
# The bad-input table (docs/reliability.md): every kind of malformed input, table-driven, each
# row asserting the answer the server gives. Rows already asserted by another test name it in
# the last column and are listed here, not run again (reuse, not duplicate).
#
#   bad_input_test.sh               run every row; PASS/FAIL per row; exit 1 if any row fails or
#                                   docs/reliability.md's table differs from this one
#   bad_input_test.sh --markdown    print the table as markdown (paste between the markers in
#                                   docs/reliability.md) and skip the doc comparison
#
# Answers are canonical strings: "404 not_found" (status + JSON error.code; a bare status has no
# JSON error body), "closed, no answer"
# (the connection dropped before a response), "close 1003" / "error bad_json, open" / "http 403"
# (WebSocket, see bad_input_ws.mjs), "exit 2, names --port" (command line: exit status and the
# flag the message names), "starts, ..." (the server came up anyway and did what is said).
source "$(dirname "$0")/../lib.sh"
command -v python3 >/dev/null || lc_fail "python3 needed"
command -v node >/dev/null || lc_fail "node needed (WebSocket rows)"
MARKDOWN=0
[[ ${1:-} == --markdown ]] && MARKDOWN=1
HERE=$(cd "$(dirname "$0")" && pwd)
DOC=$LC_ROOT/docs/reliability.md
WS="node $HERE/bad_input_ws.mjs"
export NODE_PATH=$LC_ROOT/tests/node_modules

TOKEN=bad-input-token-0123456789
ID=9f1c2d3e-4b5a-4c6d-8e7f-0123456789ab
port=$(lc_free_port)
state=$LC_TMP/state
lc_start_server "$LC_TMP/server.log" --source tone:440 --bind 127.0.0.1 --port "$port" \
  --state-dir "$state" --api-token "$TOKEN"
base=http://127.0.0.1:$port
AUTH="Authorization: Bearer $TOKEN"
JSON="Content-Type: application/json"
curl -fsS -o /dev/null -X PUT -H "$AUTH" -H "$JSON" -d '{"name":"probe"}' "$base/api/v1/sessions/$ID" ||
  lc_fail "could not create the probe session"

rows=() failed=0
# row AREA INPUT EXPECTED OBSERVED [CHECKED_BY]
row() {
  local by=${5:-bad_input_test.sh}
  rows+=("| $1 | $2 | $3 | $by |")
  ((MARKDOWN)) && return
  if [[ $4 == "$3" ]]; then
    echo "PASS: [$1] $2 -> $4"
  else
    echo "FAIL: [$1] $2 -> '$4', expected '$3'" >&2
    failed=$((failed + 1))
  fi
}
# ref AREA INPUT ANSWER TEST: a row asserted by another test (listed, not run again)
ref() { rows+=("| $1 | $2 | $3 | $4 |"); }

# http [curl args...] → "STATUS error.code" | "STATUS" (not a JSON error) | "closed, no answer"
http() {
  local code
  code=$(curl -sS --max-time 5 -D "$LC_TMP/h" -o "$LC_TMP/b" -w '%{http_code}' "$@" 2>"$LC_TMP/e")
  if [[ $code == 000 ]]; then
    if grep -q 'timed out' "$LC_TMP/e"; then echo "no answer (timeout)"; else echo "closed, no answer"; fi
    return
  fi
  local ec
  ec=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["error"]["code"])' "$LC_TMP/b" 2>/dev/null)
  echo "$code${ec:+ $ec}"
}
allow() { grep -i '^allow:' "$LC_TMP/h" | tr -d '\r' | sed 's/^[Aa]llow: */Allow: /'; }
# raw BYTES (\r\n etc. escapes) → like http, for requests curl will not send
raw() {
  python3 - "$port" "$1" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1]))); s.settimeout(3)
s.sendall(sys.argv[2].encode("latin1").decode("unicode_escape").encode("latin1"))
d = b""
try:
    while True:
        x = s.recv(4096)
        if not x: break
        d += x
except OSError:
    pass
if not d.startswith(b"HTTP/"):
    print("closed, no answer" if not d else "?")
    sys.exit()
code, body = d.split(b" ")[1].decode(), d.partition(b"\r\n\r\n")[2]
try:
    import json
    print(code, json.JSONDecoder().raw_decode(body.decode())[0]["error"]["code"])  # first response only
except (ValueError, KeyError, TypeError):
    print(code)
PY
}
# same ANSWER... → the answer when all are equal, else all of them joined by " / " (a row that fails)
same() { local x; for x in "$@"; do [[ $x == "$1" ]] || { local IFS=/; echo "$*"; return; }; done; echo "$1"; }
a() { printf "%${1}s" "" | tr ' ' a; }
vol() { curl -s -H "$AUTH" "$base/api/v1/sessions/$ID" | grep -o '"volume":[0-9]*' | cut -d: -f2; }
patch() { http -X PATCH -H "$AUTH" -H "$JSON" --data-binary "$1" "$base/api/v1/sessions/$ID"; }

# ---- HTTP ------------------------------------------------------------------------------------------
# An input that gets no answer at all waits for the idle hang-up: run in the background meanwhile.
idle() { # OUT BYTES → "closed after the idle timeout (10 s), no answer" (or what came back)
  python3 - "$port" "$2" >"$1" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1]))); s.settimeout(30)
t = time.monotonic()
s.sendall(sys.argv[2].encode("latin1").decode("unicode_escape").encode("latin1"))
try:
    d = s.recv(4096)
except OSError:
    d = b"?"
dt = time.monotonic() - t  # lws checks its timeouts once a second
print((f"closed after the idle timeout (10 s), no answer" if 8 <= dt <= 13 else f"closed after {dt:.1f} s, no answer")
      if not d else d.split(b"\r\n")[0].decode())
PY
}
idle "$LC_TMP/idle-nocolon" 'GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header Line\r\n\r\n' &
idle_pids=($!)
row HTTP "GET /nope (unknown page)" "404 not_found" "$(http "$base/nope")"
ref HTTP "GET /api/v1/nope (unknown API path)" "404 not_found" api_test.sh
o=$(http -X DELETE "$base/"); row HTTP "DELETE / (bad method on a page)" "405 method_not_allowed, Allow: GET, HEAD" "$o, $(allow)"
o=$(http -X PUT -H "$AUTH" "$base/api/v1/sessions"); row HTTP "PUT /api/v1/sessions (bad method on the list)" "405 method_not_allowed, Allow: GET" "$o, $(allow)"
ref HTTP "POST /api/v1/status, POST a session" "405 method_not_allowed + Allow" api_test.sh
row HTTP "GET /../../etc/passwd (raw, not normalised by the client)" "404 not_found" "$(http --path-as-is "$base/../../etc/passwd")"
row HTTP "GET /%2e%2e/%2e%2e/etc/passwd" "404 not_found" "$(http --path-as-is "$base/%2e%2e/%2e%2e/etc/passwd")"
row HTTP "GET /api/v1/../../etc/passwd" "404 not_found" "$(http --path-as-is -H "$AUTH" "$base/api/v1/../../etc/passwd")"
row HTTP "GET /api/v1/sessions/..%2f..%2fstatus (traversal as the id)" "404 not_found" "$(http -H "$AUTH" "$base/api/v1/sessions/..%2f..%2fstatus")"
row HTTP "GET /index.html%00.js (NUL in the path)" "closed, no answer" "$(http "$base/index.html%00.js")"
row HTTP "GET /healthz%00" "closed, no answer" "$(http "$base/healthz%00")"
row HTTP "URL of 4 KB" "404 not_found" "$(http "$base/$(a 4000)")"
row HTTP "URL of 8 KB, of 100 KB" "closed, no answer" "$(same "$(http "$base/$(a 8000)")" "$(http "$base/$(a 100000)")")"
row HTTP "one header of 8 KB" "closed, no answer" "$(http -H "X-Big: $(a 8000)" "$base/healthz")"
row HTTP "300 headers" "closed, no answer" "$(raw "GET /healthz HTTP/1.1\r\nHost: x\r\n$(for i in $(seq 300); do printf 'X-H%d: v\\r\\n' "$i"; done)\r\n")"
row HTTP "request line 'HELLO' (not HTTP)" "403" "$(raw 'HELLO\r\n\r\n')"
row HTTP "TLS ClientHello on the plain port" "403" "$(raw '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\x00\x00\x00\x00')"
row HTTP "Content-Length: abc on an API PATCH" "400 invalid_body" "$(raw "PATCH /api/v1/sessions/$ID HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer $TOKEN\r\nContent-Type: application/json\r\nContent-Length: abc\r\n\r\n{}")"
wait "${idle_pids[@]}"
v0=$(vol); o=$(raw "PATCH /api/v1/sessions/$ID HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer $TOKEN\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nc\r\n{\"volume\":3}\r\n0\r\n\r\n")
row HTTP "API PATCH with Transfer-Encoding: chunked (no Content-Length)" "411 length_required, volume unchanged" "$o, $([[ $(vol) == "$v0" ]] && echo volume unchanged || echo "volume $v0 -> $(vol)")"
row HTTP "header line without a colon" "closed after the idle timeout (10 s), no answer" "$(cat "$LC_TMP/idle-nocolon")"
ref API "bad JSON, wrong type (\"50\"), volume 101 / 50.5, unknown field, array body, empty body" "400 invalid_body, nothing changed" api_test.sh
row API "JSON followed by garbage: {\"volume\":5} x" "400 invalid_body" "$(patch '{"volume":5} x')"
row API "{\"muted\":\"true\"} (string for a bool)" "400 invalid_body" "$(patch '{"muted":"true"}')"
row API "{\"volume\":null}" "400 invalid_body" "$(patch '{"volume":null}')"
row API "{\"volume\":-1}, {\"volume\":1e400}" "400 invalid_body" "$(same "$(patch '{"volume":-1}')" "$(patch '{"volume":1e400}')")"
row API "5,000 nested [ (deep JSON)" "400 invalid_body" "$(patch "$(printf '%5000s' '' | tr ' ' '[')")"
row API "duplicate key {\"volume\":5,\"volume\":6}" "200 (last one wins: 6)" "$(patch '{"volume":5,"volume":6}' | sed 's/^200$/200 (last one wins: /')$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["volume"])' "$LC_TMP/b"))"
row API "invalid UTF-8 in a name (\\xff\\xfe)" "400 invalid_body" "$(patch $'{"name":"a\xff\xfeb"}')"
row API "overlong UTF-8 in a name (\\xc0\\xaf)" "400 invalid_body" "$(patch $'{"name":"\xc0\xaf"}')"
row API "lone surrogate \\ud800 in a name" "400 invalid_body" "$(patch '{"name":"\ud800"}')"
row API "NUL escape \\u0000 in a name" "400 invalid_body" "$(patch '{"name":"a\u0000b"}')"
ref API "name of 65 bytes, control character in a name" "400 invalid_body" api_test.sh
ref API "id not a GUID, GUID too short" "400 invalid_id" api_test.sh
row API "GUID with two extra characters" "400 invalid_id" "$(http -H "$AUTH" "$base/api/v1/sessions/${ID}cd")"
row API "GUID in braces {…} (Windows form)" "400 invalid_id" "$(http -H "$AUTH" "$base/api/v1/sessions/%7B$ID%7D")"
ref API "body of 20 KB (over --max-body 16 KiB); the connection stays usable" "413 body_too_large" api_test.sh
row API "Content-Length: 2000000 declared" "413 body_too_large" "$(http -X PATCH -H "$AUTH" -H "$JSON" -H 'Content-Length: 2000000' --data-binary '{}' "$base/api/v1/sessions/$ID")"
ref API "form or text/plain Content-Type" "415 unsupported_media_type" api_test.sh
row API "Content-Type: application/json; charset=utf-8" "200" "$(http -X PATCH -H "$AUTH" -H 'Content-Type: application/json; charset=utf-8' -d '{"volume":4}' "$base/api/v1/sessions/$ID")"
ref API "no token, wrong token" "401 unauthorized + WWW-Authenticate: Bearer" api_test.sh
row API "Authorization: Basic …" "401 unauthorized" "$(http -H 'Authorization: Basic dG9rOg==' "$base/api/v1/status")"
row API "Authorization: Bearer TOKEN TOKEN" "401 unauthorized" "$(http -H "Authorization: Bearer $TOKEN $TOKEN" "$base/api/v1/status")"
row API "Authorization: bearer TOKEN (scheme in lower case)" "200" "$(http -H "Authorization: bearer $TOKEN" "$base/api/v1/status")"
ref API "10 wrong tokens within 60 s (token flood)" "429 too_many_requests + Retry-After, for 60 s" api_test.sh
ref HTTP "more than --max-conns-per-ip (128) connections from one address" "429 too_many_connections, closed; past 2× closed at accept" limits_test.sh

# ---- WebSocket -------------------------------------------------------------------------------------
ws() { $WS "$port" "$1" "$TOKEN" 2>&1; }
row WebSocket "/stream with subprotocol loopcast.v9 (wrong)" "closed, no answer" "$(ws stream-proto-wrong)"
row WebSocket "/stream with subprotocol loopcast.events.v1" "closed, no answer" "$(ws stream-proto-events)"
row WebSocket "/stream with no subprotocol" "open" "$(ws stream-proto-none)"
row WebSocket "/api/v1/events with no subprotocol (token in the header)" "closed, no answer" "$(ws events-proto-none)"
row WebSocket "/api/v1/events with subprotocol loopcast.v1" "closed, no answer" "$(ws events-proto-stream)"
row WebSocket "/stream?session=not-a-guid" "close 1008" "$(ws bad-session)"
row WebSocket "binary frame from the client" "close 1003" "$(ws binary)"
row WebSocket "text frame that is not UTF-8" "close 1007" "$(ws set-bad-utf8)"
row WebSocket "malformed JSON: {\"type\":" "error bad_json, open" "$(ws bad-json)"
row WebSocket "JSON that is not an object: [1,2,3]" "error bad_json, open" "$(ws not-object)"
row WebSocket "object without type: {\"volume\":5}" "error bad_json, open" "$(ws no-type)"
row WebSocket "unknown type: {\"type\":\"dance\"}" "error unknown_type, open" "$(ws unknown-type)"
row WebSocket "set with volume 101 / muted \"yes\" / unknown field" "error bad_value, open" \
  "$(same "$(ws set-range)" "$(ws set-type)" "$(ws set-unknown-field)")"
row WebSocket "control message of 8 KB (over --max-msg-bytes 4096)" "close 1009" "$(ws oversize)" "bad_input_test.sh, limits_test.sh"
row WebSocket "200 messages at once (over --max-msg-rate 20/s, bursts of 40)" "close 1008" "$(ws flood)" "bad_input_test.sh, limits_test.sh"
row WebSocket "Origin: http://evil.example (not the page's, not in --allow-origin)" "http 403 origin_not_allowed" "$(ws origin)" "bad_input_test.sh, limits_test.sh"
ref WebSocket "events: wrong token (auth message), no auth within 5 s" "close 1008" push_test.mjs
row WebSocket "events: first message not JSON" "close 1008" "$(ws events-garbage-auth)"

# ---- command line ----------------------------------------------------------------------------------
# cli FLAG ARGS... → "exit N, names FLAG" (or "exit N: <first line>" when FLAG is not named);
# "starts" when the server is still running after 2 s
cli() {
  local flag=$1; shift
  local p out rc
  p=$(lc_free_port)
  out=$(timeout -s KILL 2 "$LOOPCAST_BIN" --bind 127.0.0.1 --port "$p" --state-dir "$LC_TMP/cli-state" "$@" 2>&1 </dev/null)
  rc=$?
  if ((rc == 137)); then echo "starts"; return; fi
  if grep -qF -- "$flag" <<<"$out"; then echo "exit $rc, names $flag"; else echo "exit $rc: $(head -1 <<<"$out" | cut -c1-120)"; fi
}
row CLI "--bogus (unknown flag)" "exit 2, names --bogus" "$(cli --bogus --bogus)"
row CLI "--port with no value" "exit 2, names --port" "$(cli --port --port)"
row CLI "--port 0, --port abc, --port 70000" "exit 2, names --port" \
  "$(same "$(cli --port --port 0)" "$(cli --port --port abc)" "$(cli --port --port 70000)")"
row CLI "LOOPCAST_PORT=abc (environment)" "exit 2, names LOOPCAST_PORT" \
  "$(p=$(lc_free_port); out=$(LOOPCAST_PORT=abc timeout -s KILL 2 "$LOOPCAST_BIN" --bind 127.0.0.1 2>&1); rc=$?; grep -q LOOPCAST_PORT <<<"$out" && echo "exit $rc, names LOOPCAST_PORT" || echo "exit $rc: $out")"
row CLI "--frame-ms 7" "exit 2, names --frame-ms" "$(cli --frame-ms --frame-ms 7)"
row CLI "--bitrate 1" "exit 2, names --bitrate" "$(cli --bitrate --bitrate 1)"
row CLI "--complexity 11" "exit 2, names --complexity" "$(cli --complexity --complexity 11)"
row CLI "--max-listeners 0" "exit 2, names --max-listeners" "$(cli --max-listeners --max-listeners 0)"
row CLI "--max-body 10" "exit 2, names --max-body" "$(cli --max-body --max-body 10)"
row CLI "--max-msg-bytes 1" "exit 2, names --max-msg-bytes" "$(cli --max-msg-bytes --max-msg-bytes 1)"
row CLI "--log-format xml" "exit 2, names --log-format" "$(cli --log-format --log-format xml)"
row CLI "--mdns maybe" "exit 2, names --mdns" "$(cli --mdns --mdns maybe)"
row CLI "--allow-origin evil" "exit 2, names --allow-origin" "$(cli --allow-origin --allow-origin evil)"
row CLI "--trust-proxy 1.2.3.4/40" "exit 2, names --trust-proxy" "$(cli --trust-proxy --trust-proxy 1.2.3.4/40)"
row CLI "--api-token 'has space'" "exit 2, names --api-token" "$(cli --api-token --api-token 'has space')"
row CLI "--tls-cert without --tls-key" "exit 2, names --tls-key" "$(cli --tls-key --tls-cert /nonexistent.pem)"
row CLI "--source nope:x (unknown backend)" "exit 2, names --source" "$(cli --source --source nope:x)"
row CLI "--source tone:abc, tone:-5" "exit 2, names --source" \
  "$(same "$(cli --source --source tone:abc)" "$(cli --source --source tone:-5)")"

# ---- source input ----------------------------------------------------------------------------------
mkfifo "$LC_TMP/fifo"
for opt in "" "?format=s99" "?rate=0" "?channels=99" "?colour=red" "?rate=48000&rate=44100"; do
  case $opt in
    "") what="pipe: (no path)" src="pipe:" ;;
    *) what="pipe:FIFO$opt" src="pipe:$LC_TMP/fifo$opt" ;;
  esac
  row Source "$what" "exit 2, names --source" "$(cli --source --source "$src")"
done
python3 - "$LC_TMP" <<'PY'
import struct, sys
d = sys.argv[1]
def wav(ch=2, fmt=1, bits=16, rate=48000, frames=4800, declared=None):
    data = b"\0" * (frames * ch * bits // 8)
    n = len(data) if declared is None else declared
    h = struct.pack("<4sI4s4sIHHIIHH4sI", b"RIFF", 36 + n, b"WAVE", b"fmt ", 16, fmt, ch, rate,
                    rate * ch * bits // 8, ch * bits // 8, bits, b"data", n)
    return h + data
open(f"{d}/ok.wav", "wb").write(wav())
open(f"{d}/garbage.wav", "wb").write(bytes(range(256)) * 8)
open(f"{d}/empty.wav", "wb").write(b"")
open(f"{d}/trunc_hdr.wav", "wb").write(wav()[:30])
open(f"{d}/zero_ch.wav", "wb").write(wav(ch=0))
open(f"{d}/float16.wav", "wb").write(wav(fmt=3, bits=16))
open(f"{d}/trunc_data.wav", "wb").write(wav(declared=10_000_000))
PY
row Source "file: not a WAV (garbage bytes)" "exit 2, names --source" "$(cli --source --source "file:$LC_TMP/garbage.wav")"
row Source "file: empty file" "exit 2, names --source" "$(cli --source --source "file:$LC_TMP/empty.wav")"
row Source "file: WAV cut inside its header" "exit 2, names --source" "$(cli --source --source "file:$LC_TMP/trunc_hdr.wav")"
row Source "file: WAV with 0 channels" "exit 2, names --source" "$(cli --source --source "file:$LC_TMP/zero_ch.wav")"
row Source "file: WAV of 16-bit floats" "exit 2, names --source" "$(cli --source --source "file:$LC_TMP/float16.wav")"
row Source "file: missing file" "exit 1, names --source" "$(cli --source --source "file:$LC_TMP/missing.wav")"
# a data chunk declared longer than the file: plays what is there
p2=$(lc_free_port)
pid1=$LC_PID
lc_start_server "$LC_TMP/trunc.log" --source "file:$LC_TMP/trunc_data.wav" --bind 127.0.0.1 --port "$p2" \
  --state-dir "$LC_TMP/trunc-state" --api-token "$TOKEN"
st=$(curl -sS -H "$AUTH" "http://127.0.0.1:$p2/api/v1/status" | python3 -c 'import json,sys; print(json.load(sys.stdin)["source"]["state"])')
lc_stop_server; LC_PID=$pid1
row Source "file: WAV whose data chunk claims 10 MB more than the file has" "starts, source running" "starts, source $st"
ref Source "pipe writer dies / comes back" "listeners stay connected, source retrying → running" "fault_source_test.sh (a), soak.sh"
ref Source "\`file:\` WAV deleted while it plays, then a new one put at its path" "listeners stay connected and hear silence; source retrying (error names the path) → running with the new file's audio" "fault_source_test.sh (c), test_capture_file"
ref Source "the sound server behind \`loopback\` (the ALSA pulse device) killed -9, then restarted" "listeners stay connected, source retrying → running" "fault_source_test.sh (b)"

# ---- state dir -------------------------------------------------------------------------------------
# store_case NAME CONTENT → "starts, moved aside" when the server answered /healthz and the file
# became sessions.json.corrupt-*
store_case() {
  local d=$LC_TMP/store-$1 p out
  mkdir -p "$d"; printf '%s' "$2" >"$d/sessions.json"
  p=$(lc_free_port)
  local pid1=$LC_PID
  lc_start_server "$d.log" --source tone:440 --bind 127.0.0.1 --port "$p" --state-dir "$d" --api-token "$TOKEN"
  out=$(curl -sS -H "$AUTH" "http://127.0.0.1:$p/api/v1/sessions")
  lc_stop_server; LC_PID=$pid1
  local aside=no
  compgen -G "$d/sessions.json.corrupt-*" >/dev/null && grep -q 'moved aside' "$d.log" && aside=yes
  echo "starts, $( [[ $aside == yes ]] && echo moved aside || echo NOT moved aside), $out"
}
row Store "sessions.json cut in the middle" "starts, moved aside, {\"sessions\":[]}" \
  "$(store_case cut '{"version":1,"sessions":[{"id":"9f1c')"
row Store "sessions.json with volume 500 in an entry" "starts, moved aside, {\"sessions\":[]}" \
  "$(store_case range '{"version":1,"sessions":[{"id":"'$ID'","name":"x","volume":500,"muted":false,"created":1,"last_seen":1}]}')"
row Store "sessions.json of random bytes" "starts, moved aside, {\"sessions\":[]}" \
  "$(store_case random "$(head -c 300 /dev/urandom | tr -d '\0')")"
for t in empty space; do
  d=$LC_TMP/tok-$t; mkdir -p "$d"
  if [[ $t == empty ]]; then : >"$d/api-token"; else echo 'two words' >"$d/api-token"; fi
  chmod 600 "$d/api-token"
  out=$(timeout -s KILL 3 "$LOOPCAST_BIN" --source tone:440 --bind 127.0.0.1 --port "$(lc_free_port)" --state-dir "$d" 2>&1); rc=$?
  grep -q "$d/api-token" <<<"$out" && o="exit $rc, names the file" || o="exit $rc: $out"
  row Store "api-token file $( [[ $t == empty ]] && echo empty || echo 'with a space')" "exit 2, names the file" "$o"
done
ref Store "state dir read-only or disk full" "keeps streaming; store error on /status and /metrics; retried" fault_disk_test.sh

lc_stop_server || lc_fail "server exit status after SIGTERM: $?"
grep -E 'Sanitizer|runtime error:' "$LC_TMP"/*.log && lc_fail "sanitizer output in a server log"

# ---- the table ---------------------------------------------------------------------------------------
table() {
  echo "| area | input | answer | checked by |"
  echo "|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
}
if ((MARKDOWN)); then table; exit 0; fi
if [[ -f $DOC ]]; then
  doc=$(sed -n '/<!-- bad-input-table:start -->/,/<!-- bad-input-table:end -->/p' "$DOC" | grep '^|')
  if [[ $doc != "$(table)" ]]; then
    diff <(echo "$doc") <(table) >&2
    echo "FAIL: docs/reliability.md's bad-input table differs from this test's (regenerate: $0 --markdown)" >&2
    failed=$((failed + 1))
  fi
else
  echo "FAIL: no $DOC" >&2; failed=$((failed + 1))
fi
((failed == 0)) || lc_fail "$failed bad-input rows failed"
lc_pass "${#rows[@]} bad-input rows: every answer as in docs/reliability.md"
