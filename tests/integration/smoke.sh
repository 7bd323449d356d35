#!/usr/bin/env bash
# Smoke test of the loopcast binary over plain HTTP (curl only, no WebSocket client):
# health/ready/metrics, the page, JSON 401 under /api/v1 without a token, security headers, method errors,
# bad flags (exit 2), and SIGTERM (exit 0 within 2 s).
source "$(dirname "$0")/../lib.sh"

# ---- bad flags and values exit 2 and name the flag ------------------------------------------
check_bad() { # expected-word args...
  local want=$1; shift
  local err rc
  err=$("$LOOPCAST_BIN" "$@" 2>&1 >/dev/null); rc=$?
  ((rc == 2)) || lc_fail "loopcast $* exited $rc, expected 2"
  grep -q -- "$want" <<<"$err" || lc_fail "loopcast $*: message '$err' does not name $want"
}
check_bad --port --port 0
check_bad --port --port 70000
check_bad --port --port abc
check_bad --frame-ms --frame-ms 7
check_bad --bitrate --bitrate 1000000
check_bad --nope --nope
LOOPCAST_PORT=abc check_bad LOOPCAST_PORT --source tone:440
check_bad bogus --source bogus:1 --port "$(lc_free_port)"
# Output into a variable first: `cmd | grep -q` under pipefail fails when grep exits at its first
# match and cmd's next write dies of SIGPIPE (--help is over 4 KiB: two writes).
help=$("$LOOPCAST_BIN" --help) || lc_fail "--help exit status"
grep -q LOOPCAST_MAX_LAG_MS <<<"$help" || lc_fail "--help does not list every variable"
version=$("$LOOPCAST_BIN" --version) || lc_fail "--version exit status"
grep -q '^loopcast ' <<<"$version" || lc_fail "--version"
lc_pass "bad flags exit 2 naming the flag; --help, --version"

# ---- a running server -------------------------------------------------------------------------
port=$(lc_free_port)
base="http://127.0.0.1:$port"
lc_start_server "$LC_TMP/smoke.log" --source tone:440 --bind 127.0.0.1 --port "$port"

[[ $(curl -fsS "$base/healthz") == ok ]] || lc_fail "/healthz"
ready=0
for _ in $(seq 1 30); do
  if curl -fsS -o /dev/null "$base/readyz"; then ready=1; break; fi
  sleep 0.1
done
((ready)) || lc_fail "/readyz never became 200: $(curl -sS "$base/readyz")"
metrics=$(curl -fsS "$base/metrics")
for m in loopcast_listeners loopcast_packets_encoded_total loopcast_packets_sent_total \
         loopcast_packets_dropped_total loopcast_bytes_sent_total loopcast_capture_xruns_total \
         loopcast_capture_reopens_total loopcast_encode_seconds_total 'loopcast_build_info{version='; do
  grep -q "^$m" <<<"$metrics" || lc_fail "/metrics lacks $m"
done
enc=$(awk '/^loopcast_packets_encoded_total/ {print $2}' <<<"$metrics")
((enc > 0)) || lc_fail "no packet encoded (loopcast_packets_encoded_total=$enc)"
lc_pass "/healthz, /readyz, /metrics ($enc packets encoded)"

hdr=$(curl -fsS -D - -o "$LC_TMP/index.html" "$base/")
grep -qi "^content-type: text/html" <<<"$hdr" || lc_fail "/ is not text/html"
grep -qi "^content-security-policy: .*'wasm-unsafe-eval'" <<<"$hdr" || lc_fail "/ lacks our CSP"
grep -qi "^content-security-policy: .*frame-ancestors 'none'" <<<"$hdr" || lc_fail "CSP frame-ancestors"
grep -qi "^x-content-type-options: nosniff" <<<"$hdr" || lc_fail "/ lacks nosniff"
grep -qi "^referrer-policy: no-referrer" <<<"$hdr" || lc_fail "/ lacks Referrer-Policy"
grep -qi "^cache-control:" <<<"$hdr" || lc_fail "/ lacks Cache-Control"
[[ -s "$LC_TMP/index.html" ]] || lc_fail "/ has an empty body"
lc_pass "/ is the page, with CSP, nosniff, Referrer-Policy, Cache-Control"

# The API answers nothing without its token (api_test.sh covers it with one).
out=$(curl -sS -D "$LC_TMP/h" "$base/api/v1/x"); code=$(head -1 "$LC_TMP/h" | awk '{print $2}')
[[ $code == 401 ]] || lc_fail "/api/v1/x answered $code"
grep -qi "^content-type: application/json" "$LC_TMP/h" || lc_fail "/api/v1/x is not JSON"
grep -qi "^www-authenticate: Bearer" "$LC_TMP/h" || lc_fail "/api/v1/x 401 without WWW-Authenticate"
grep -q '"error":{"code":"unauthorized"' <<<"$out" || lc_fail "/api/v1/x body: $out"
code=$(curl -sS -o /dev/null -w '%{http_code}' "$base/no/such/page")
[[ $code == 404 ]] || lc_fail "unknown path answered $code"
code=$(curl -sS -o /dev/null -w '%{http_code}' -X DELETE "$base/healthz")
[[ $code == 405 ]] || lc_fail "DELETE /healthz answered $code"
code=$(curl -sS -o /dev/null -w '%{http_code}' -X POST -H 'content-type: application/json' \
       --data '{"a":1}' "$base/api/v1/sessions")
[[ $code == 401 ]] || lc_fail "POST with a body to /api/v1 answered $code"
# The connection survives a request with a body (the body is not parsed as the next request).
codes=$(curl -sS -o /dev/null -w '%{http_code} ' --data 'xyz' "$base/api/v1/a" \
        --next -o /dev/null -w '%{http_code} %{num_connects}' "$base/healthz")
[[ $codes == "401 200 0" ]] || lc_fail "keep-alive after a body: $codes"
code=$(curl -sS -o /dev/null -w '%{http_code}' "$base/stream")
[[ $code == 426 ]] || lc_fail "GET /stream without upgrade answered $code"
lc_pass "JSON 401 under /api/v1 without a token, 404, 405, 426"

code=$(curl -sS -o /dev/null -w '%{http_code}' -I "$base/")
[[ $code == 200 ]] || lc_fail "HEAD / answered $code"

# ---- --web-root: files served, traversal and escaping symlinks refused --------------------------
mkdir -p "$LC_TMP/www/js" && echo '<p>root</p>' >"$LC_TMP/www/index.html"
echo 'export {}' >"$LC_TMP/www/js/m.mjs"; echo secret >"$LC_TMP/secret"
ln -s "$LC_TMP/secret" "$LC_TMP/www/leak"
port2=$(lc_free_port)
"$LOOPCAST_BIN" --source tone:440 --bind 127.0.0.1 --port "$port2" --web-root "$LC_TMP/www" \
  >"$LC_TMP/webroot.log" 2>&1 &
wr_pid=$!; LC_PIDS+=("$wr_pid")
lc_wait_http "http://127.0.0.1:$port2/healthz" 20 || lc_fail "--web-root server did not start"
[[ $(curl -fsS "http://127.0.0.1:$port2/") == '<p>root</p>' ]] || lc_fail "--web-root index"
ct=$(curl -fsS -o /dev/null -w '%{content_type}' "http://127.0.0.1:$port2/js/m.mjs")
[[ $ct == text/javascript* ]] || lc_fail ".mjs served as '$ct'"
for bad in /leak /../secret /js/%2e%2e/%2e%2e/secret; do
  code=$(curl -sS --path-as-is -o "$LC_TMP/out" -w '%{http_code}' "http://127.0.0.1:$port2$bad")
  [[ $code == 403 || $code == 404 || $code == 400 ]] || lc_fail "$bad answered $code"
  ! grep -q secret "$LC_TMP/out" || lc_fail "$bad leaked a file outside --web-root"
done
kill -TERM "$wr_pid"; wait "$wr_pid" || lc_fail "--web-root server exit status"
lc_pass "HEAD; --web-root serves files with MIME types, refuses traversal and symlinks out"

# ---- SIGTERM ----------------------------------------------------------------------------------
t0=$(date +%s%N)
lc_stop_server TERM; rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
((rc == 0)) || { cat "$LC_TMP/smoke.log"; lc_fail "exit status $rc after SIGTERM"; }
((ms < 2000)) || lc_fail "took $ms ms to stop"
lc_pass "SIGTERM: exit 0 in $ms ms"
