#!/usr/bin/env bash
# Issue 7's limits, each proved against the real server with curl, bash's /dev/tcp and Node's ws
# (limits_test.mjs), and each refusal seen on /metrics under its reason:
#   A. --max-conns-per-ip 3: idle TCP connections hold the address's slots; the next request and
#      the next WebSocket upgrade get 429 + JSON; past 2x the limit a connection is closed at
#      accept; closed connections give their slots back; an idle connection is hung up by lws.
#   B. --max-body (413), --max-msg-bytes (1009) and --max-msg-rate (1008) on /stream and on
#      /api/v1/events, --max-listeners and --max-sessions (1013 with a reason), the Origin check
#      (403 vs same origin / listed / none), a wrong token (401), X-Forwarded-For ignored without
#      --trust-proxy, and client bytes (ESC) escaped in the log.
#   C. --trust-proxy 127.0.0.1: the wrong-token limit applies to the forwarded client (right-most
#      untrusted X-Forwarded-For entry), X-Forwarded-Proto decides the page's scheme for the Origin
#      check, and connections are counted per forwarded client, not per proxy.
source "$(dirname "$0")/../lib.sh"
node_bin=$(command -v node) || lc_fail "node not found"
WSC="$(dirname "$0")/limits_test.mjs"
TOKEN=limits-test-token-0123456789abcdef0123
SID=9f1c2d3e-4b5a-4c6d-8e7f-0123456789ab
ws() { "$node_bin" "$WSC" "$1"; }
# refused PORT REASON: the loopcast_refused_total value for REASON
refused() {
  curl -sS --max-time 5 "http://127.0.0.1:$1/metrics" |
    awk -v want="loopcast_refused_total{reason=\"$2\"}" '$1 == want { print $2; found=1 } END { if (!found) print "missing" }'
}
expect_refused() { # PORT REASON N
  local v
  v=$(refused "$1" "$2")
  [[ $v == "$3" ]] || lc_fail "loopcast_refused_total{reason=\"$2\"} is $v, expected $3"
}
# http PORT PATH [curl args]: sets $code and $body
http() {
  local p=$1 path=$2; shift 2
  body=$(curl -sS -g --max-time 5 -o - -w '\n%{http_code}' "$@" "http://127.0.0.1:$p$path" 2>/dev/null)
  code=${body##*$'\n'}
  body=${body%$'\n'*}
}
json_code() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])["error"]["code"])' "$1" 2>/dev/null; }

# ---- A. connections per address ------------------------------------------------------------------
portA=$(lc_free_port)
lc_start_server "$LC_TMP/a.log" --source tone:440 --bind 127.0.0.1 --port "$portA" \
  --state-dir "$LC_TMP/sa" --max-conns-per-ip 3
# An idle connection that never sends a request: how long does lws keep it? (in the background)
( s=$(date +%s%N); exec 3<>"/dev/tcp/127.0.0.1/$portA"; timeout 40 cat <&3 >/dev/null
  echo $(( ($(date +%s%N) - s) / 1000000 )) >"$LC_TMP/idle_ms" ) &
idle_pid=$!
sleep 0.3
exec {c1}<>"/dev/tcp/127.0.0.1/$portA" {c2}<>"/dev/tcp/127.0.0.1/$portA"
sleep 0.2 # the idle probe + 2 = 3: the limit
http "$portA" /healthz
[[ $code == 429 && $(json_code "$body") == too_many_connections ]] \
  || lc_fail "4th connection: $code $body (expected 429 too_many_connections)"
out=$(ws "{\"conns\":[{\"url\":\"ws://127.0.0.1:$portA/stream\"}]}")
grep -q '^0 opened=0 status=429 .*"code":"too_many_connections"' <<<"$out" \
  || lc_fail "WebSocket upgrade over the limit: $out"
lc_pass "per address: 4th request 429 too_many_connections, 4th WebSocket upgrade 429"
exec {c1}>&- {c2}>&-
sleep 0.3
http "$portA" /healthz
[[ $code == 200 ]] || lc_fail "after closing 2 connections /healthz answers $code"
# Twice the limit open (the probe + 5): the next connection is closed at accept, unanswered.
for i in 1 2 3 4 5; do exec {fd}<>"/dev/tcp/127.0.0.1/$portA"; held+=("$fd"); done
sleep 0.3
curl -sS --max-time 3 -o /dev/null "http://127.0.0.1:$portA/healthz" 2>/dev/null \
  && lc_fail "a connection past 2x the limit was served"
grep -q "closed at accept: 6 open, over 2 times --max-conns-per-ip 3" "$LC_TMP/a.log" \
  || lc_fail "no log line for the connection closed at accept"
for fd in "${held[@]}"; do exec {fd}>&-; done
sleep 0.3
http "$portA" /healthz
[[ $code == 200 ]] || lc_fail "after closing all, /healthz answers $code"
expect_refused "$portA" conns_per_ip 3
lc_pass "per address: past 2x the limit closed at accept (logged); slots come back on close; conns_per_ip=3"
wait "$idle_pid"
idle_ms=$(cat "$LC_TMP/idle_ms")
((idle_ms >= 5000 && idle_ms <= 15000)) || lc_fail "an idle connection lived $idle_ms ms (expected ~10 s)"
lc_pass "an idle connection that never sends a request is hung up after $idle_ms ms"
lc_stop_server TERM || lc_fail "server A exit status"

# ---- B. body, messages, listeners, sessions, Origin, auth, XFF ignored ----------------------------
portB=$(lc_free_port)
lc_start_server "$LC_TMP/b.log" --source tone:440 --bind 127.0.0.1 --port "$portB" \
  --state-dir "$LC_TMP/sb" --api-token "$TOKEN" --max-body 1024 --max-msg-bytes 256 \
  --max-msg-rate 5 --max-listeners 2 --max-sessions 1 --allow-origin "http://allowed.example:8000"
AUTH="Authorization: Bearer $TOKEN"
S="ws://127.0.0.1:$portB/stream?session=$SID"
E="ws://127.0.0.1:$portB/api/v1/events"

# Body: 1025 bytes refused before the handler sees it, 1024 read (and refused for its content).
head -c 1025 /dev/zero | tr '\0' ' ' >"$LC_TMP/big"
head -c 1024 /dev/zero | tr '\0' ' ' >"$LC_TMP/fits"
ws "{\"conns\":[{\"url\":\"$S\"}]}" >/dev/null # creates the session
http "$portB" "/api/v1/sessions/$SID" -X PATCH -H "$AUTH" -H "Content-Type: application/json" --data-binary @"$LC_TMP/big"
[[ $code == 413 && $(json_code "$body") == body_too_large && $body == *"over 1024 bytes"* ]] \
  || lc_fail "1025-byte body: $code $body"
http "$portB" "/api/v1/sessions/$SID" -X PATCH -H "$AUTH" -H "Content-Type: application/json" --data-binary @"$LC_TMP/fits"
[[ $code == 400 ]] || lc_fail "1024-byte body: $code $body (expected 400: read, then refused as bad JSON)"
lc_pass "--max-body 1024: 1025 bytes 413 body_too_large, 1024 bytes read (400 bad JSON)"

# Message size: 257 bytes close 1009, 256 bytes are fine; on both sockets.
out=$(ws "{\"conns\":[{\"url\":\"$S\",\"send\":[{\"size\":257}]},{\"url\":\"$S\",\"send\":[{\"size\":256}]},
  {\"url\":\"$E\",\"protocol\":\"loopcast.events.v1\",\"headers\":{\"Authorization\":\"Bearer $TOKEN\"},\"send\":[{\"size\":257}]},
  {\"url\":\"$E\",\"protocol\":\"loopcast.events.v1\",\"headers\":{\"Authorization\":\"Bearer $TOKEN\"},\"send\":[{\"size\":256}]}]}")
grep -q '^0 opened=1 status=101 close=1009 reason=message too big' <<<"$out" || lc_fail "audio 257 bytes: $out"
grep -q '^1 opened=1 status=101 close=- ' <<<"$out" || lc_fail "audio 256 bytes closed: $out"
grep -q '^2 opened=1 status=101 close=1009 reason=message too big' <<<"$out" || lc_fail "events 257 bytes: $out"
grep -q '^3 opened=1 status=101 close=- ' <<<"$out" || lc_fail "events 256 bytes closed: $out"
lc_pass "--max-msg-bytes 256: 257 bytes close 1009 'message too big', 256 bytes kept (audio and events)"

# Message rate 5/s, bursts of 10: 10 at once are fine, 30 at once close 1008 "rate limit".
out=$(ws "{\"conns\":[{\"url\":\"$S\",\"send\":[{\"count\":10}]},{\"url\":\"$S\",\"send\":[{\"count\":30}]}]}")
grep -q '^0 opened=1 status=101 close=- ' <<<"$out" || lc_fail "audio burst of 10: $out"
grep -q '^1 opened=1 status=101 close=1008 reason=rate limit' <<<"$out" || lc_fail "audio 30 at once: $out"
out=$(ws "{\"conns\":[{\"url\":\"$E\",\"protocol\":\"loopcast.events.v1\",\"headers\":{\"Authorization\":\"Bearer $TOKEN\"},\"send\":[{\"count\":10}]},
  {\"url\":\"$E\",\"protocol\":\"loopcast.events.v1\",\"headers\":{\"Authorization\":\"Bearer $TOKEN\"},\"send\":[{\"count\":30}]}]}")
grep -q '^0 opened=1 status=101 close=- ' <<<"$out" || lc_fail "events burst of 10: $out"
grep -q '^1 opened=1 status=101 close=1008 reason=rate limit' <<<"$out" || lc_fail "events 30 at once: $out"
lc_pass "--max-msg-rate 5: a burst of 10 kept, 30 at once close 1008 'rate limit' (audio and events)"

# Listeners: 2 open, the third closes 1013. Sessions: the table's one session is connected, a
# listener asking for a new one closes 1013.
out=$(ws "{\"hold\":400,\"conns\":[{\"url\":\"$S\"},{\"url\":\"$S\"},{\"url\":\"$S\"}]}")
grep -q '^0 opened=1 status=101 close=- ' <<<"$out" && grep -q '^1 opened=1 status=101 close=- ' <<<"$out" \
  || lc_fail "two listeners: $out"
grep -q '^2 opened=1 status=101 close=1013 reason=listener limit reached, try again later' <<<"$out" \
  || lc_fail "third listener: $out"
out=$(ws "{\"conns\":[{\"url\":\"$S\"},{\"url\":\"ws://127.0.0.1:$portB/stream\"}]}")
grep -q '^1 opened=1 status=101 close=1013 reason=session table full, try again later' <<<"$out" \
  || lc_fail "a new session with the table full: $out"
ws "{\"hold\":1500,\"conns\":[{\"url\":\"$S\"}]}" >/dev/null &
ws_pid=$!
sleep 0.8 # the table's one session is connected now: a PUT of another cannot evict it
http "$portB" /api/v1/sessions/0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d -X PUT -H "$AUTH" \
  -H "Content-Type: application/json" -d '{"volume":5}'
[[ $code == 409 && $(json_code "$body") == table_full ]] || lc_fail "PUT into a full table: $code $body"
wait "$ws_pid"
lc_pass "--max-listeners 2: third closes 1013; --max-sessions 1: a new session closes 1013, a PUT 409"

# Origin (at most two listeners at once here: --max-listeners 2).
out=$(ws "{\"conns\":[{\"url\":\"$S\",\"origin\":\"http://evil.example\"},
  {\"url\":\"$S\",\"origin\":\"http://127.0.0.1:$portB\"},
  {\"url\":\"$S\",\"origin\":\"http://allowed.example:8000\"},
  {\"url\":\"$E\",\"protocol\":\"loopcast.events.v1\"},
  {\"url\":\"$S\",\"origin\":\"https://127.0.0.1:$portB\"},
  {\"url\":\"$S\",\"origin\":\"http://allowed.example\"},
  {\"url\":\"$E\",\"protocol\":\"loopcast.events.v1\",\"origin\":\"http://evil.example\"},
  {\"url\":\"$S\",\"origin\":\"https://127.0.0.1:$portB\",\"headers\":{\"X-Forwarded-Proto\":\"https\"}}]}")
grep -q '^0 opened=0 status=403 .*"code":"origin_not_allowed"' <<<"$out" || lc_fail "evil origin: $out"
grep -q '^1 opened=1 status=101' <<<"$out" || lc_fail "same origin: $out"
grep -q '^2 opened=1 status=101' <<<"$out" || lc_fail "listed origin: $out"
grep -q '^3 opened=1 status=101' <<<"$out" || lc_fail "no origin: $out"
grep -q '^4 opened=0 status=403' <<<"$out" || lc_fail "same host, other scheme: $out"
grep -q '^5 opened=0 status=403' <<<"$out" || lc_fail "listed host, other port: $out"
grep -q '^6 opened=0 status=403 .*"code":"origin_not_allowed"' <<<"$out" || lc_fail "events, evil origin: $out"
grep -q '^7 opened=0 status=403' <<<"$out" || lc_fail "X-Forwarded-Proto from an untrusted peer was believed: $out"
grep -q "Origin 'http://evil.example' is neither this page's origin (http://127.0.0.1:$portB)" "$LC_TMP/b.log" \
  || lc_fail "no log line for the refused origin"
lc_pass "Origin: other site/scheme/port 403 (both sockets), same origin, listed and none allowed"

# Client bytes in a log line: an ESC in the Origin header is written as \x1b, never raw.
curl -sS -o /dev/null --max-time 3 -H "Origin: http://x$(printf '\033')[2J$(printf '\033')[31mFAKE" \
  -H "Connection: Upgrade" -H "Upgrade: websocket" -H "Sec-WebSocket-Version: 13" \
  -H "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==" "http://127.0.0.1:$portB/stream"
grep -qF "Origin 'http://x\\x1b[2J\\x1b[31mFAKE'" "$LC_TMP/b.log" || lc_fail "the ESC origin was not logged escaped"
grep -q $'\033' "$LC_TMP/b.log" && lc_fail "a raw ESC byte reached the log"
lc_pass "client bytes in the log: ESC written as \\x1b, no raw control byte in the whole log"

# A wrong token: 401, counted as auth. Then X-Forwarded-For without --trust-proxy: 9 more wrong
# tokens, each "from" another forwarded address, block 127.0.0.1 itself (the header is ignored).
http "$portB" /api/v1/sessions -H "Authorization: Bearer wrong"
[[ $code == 401 ]] || lc_fail "wrong token: $code"
for i in $(seq 1 9); do
  http "$portB" /api/v1/sessions -H "Authorization: Bearer wrong" -H "X-Forwarded-For: 203.0.113.$i"
done
http "$portB" /api/v1/sessions -H "$AUTH" -H "X-Forwarded-For: 198.51.100.1"
[[ $code == 429 ]] || lc_fail "10 wrong tokens with 10 forwarded addresses: right token answers $code (XFF believed?)"
grep -q "blocking 127.0.0.1 for 60 s" "$LC_TMP/b.log" || lc_fail "block not logged for 127.0.0.1"
grep -q "from 203.0.113" "$LC_TMP/b.log" && lc_fail "a forwarded address was logged without --trust-proxy"
lc_pass "without --trust-proxy X-Forwarded-For is ignored: 127.0.0.1 is blocked (429)"

expect_refused "$portB" body_too_large 1
expect_refused "$portB" msg_too_large 2
expect_refused "$portB" msg_rate 2
expect_refused "$portB" listeners 1
expect_refused "$portB" sessions 2
expect_refused "$portB" origin 6
expect_refused "$portB" auth 11
expect_refused "$portB" conns_per_ip 0
lc_pass "/metrics: loopcast_refused_total counts each refusal under its reason"
lc_stop_server TERM || lc_fail "server B exit status"

# ---- C. behind a trusted proxy --------------------------------------------------------------------
portC=$(lc_free_port)
lc_start_server "$LC_TMP/c.log" --source tone:440 --bind 127.0.0.1 --port "$portC" \
  --state-dir "$LC_TMP/sc" --api-token "$TOKEN" --trust-proxy 127.0.0.1 --max-conns-per-ip 2
for i in $(seq 1 10); do
  http "$portC" /api/v1/sessions -H "Authorization: Bearer wrong" -H "X-Forwarded-For: 203.0.113.7"
done
grep -q "wrong API token from 203.0.113.7 (10 in 60 s)" "$LC_TMP/c.log" || lc_fail "wrong tokens not logged for the forwarded client"
http "$portC" /api/v1/sessions -H "$AUTH" -H "X-Forwarded-For: 203.0.113.7"
[[ $code == 429 ]] || lc_fail "blocked forwarded client answered $code"
http "$portC" /api/v1/sessions -H "$AUTH" -H "X-Forwarded-For: 203.0.113.8"
[[ $code == 200 ]] || lc_fail "another forwarded client answered $code"
http "$portC" /api/v1/sessions -H "$AUTH"
[[ $code == 200 ]] || lc_fail "the proxy itself answered $code"
# Spoofing: the client writes an entry, the proxy appends the address it saw (the right-most).
http "$portC" /api/v1/sessions -H "$AUTH" -H "X-Forwarded-For: 203.0.113.7, 198.51.100.20"
[[ $code == 200 ]] || lc_fail "a spoofed left entry was believed: $code"
http "$portC" /api/v1/sessions -H "$AUTH" -H "X-Forwarded-For: 198.51.100.20, 203.0.113.7, 127.0.0.1"
[[ $code == 429 ]] || lc_fail "trusted hop on the right not skipped: $code"
lc_pass "--trust-proxy: the wrong-token limit applies to the forwarded client (right-most untrusted entry)"

# X-Forwarded-Proto from the trusted proxy: the page is https, so only an https Origin is same-origin.
out=$(ws "{\"conns\":[{\"url\":\"ws://127.0.0.1:$portC/stream\",\"origin\":\"https://127.0.0.1:$portC\",\"headers\":{\"X-Forwarded-Proto\":\"https\"}},
  {\"url\":\"ws://127.0.0.1:$portC/stream\",\"origin\":\"http://127.0.0.1:$portC\",\"headers\":{\"X-Forwarded-Proto\":\"https\"}}]}")
grep -q '^0 opened=1 status=101' <<<"$out" || lc_fail "https origin behind an https proxy: $out"
grep -q '^1 opened=0 status=403' <<<"$out" || lc_fail "http origin behind an https proxy: $out"
lc_pass "--trust-proxy: X-Forwarded-Proto https makes https://host the page's origin"

# Connections per forwarded client: the proxy's own idle connections are not counted...
for i in 1 2 3 4; do exec {fd}<>"/dev/tcp/127.0.0.1/$portC"; proxy_idle+=("$fd"); done
# ... two kept-alive connections carrying 198.51.100.9 are.
for i in 1 2; do
  exec {fd}<>"/dev/tcp/127.0.0.1/$portC"
  printf 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 198.51.100.9\r\n\r\n' >&"$fd"
  carried+=("$fd")
done
sleep 0.3
http "$portC" /healthz -H "X-Forwarded-For: 198.51.100.9"
[[ $code == 429 ]] || lc_fail "3rd connection carrying 198.51.100.9: $code"
http "$portC" /healthz -H "X-Forwarded-For: 198.51.100.10"
[[ $code == 200 ]] || lc_fail "another forwarded client with 6 proxy connections open: $code"
for fd in "${proxy_idle[@]}" "${carried[@]}"; do exec {fd}>&-; done
lc_pass "--trust-proxy: connections counted per forwarded client, not per proxy"
grep -q "from 203.0.113.7" "$LC_TMP/c.log" || lc_fail "log lines do not name the forwarded client"
lc_stop_server TERM || lc_fail "server C exit status"
