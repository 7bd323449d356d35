#!/usr/bin/env bash
# The QR code of the first LAN URL on the real server's console (issue 13, Phones), read back by
# a real decoder (zbarimg, through qr_decode.py, which draws the rows as a terminal shows them):
#   1. stderr to a file (text log): the plain drawing (light text on a dark terminal) decodes to
#      the first non-loopback URL of the "listener page:" lines, printed right under them;
#   2. stderr a terminal (script(1) gives it a pty): the ANSI drawing decodes on a dark AND on a
#      light terminal background;
#   3. --log-format json: every line is still one JSON object, no drawing;
#   4. --bind 127.0.0.1: no LAN URL, no drawing, one line saying so;
#   6. --bind 0.0.0.0 (every interface, what a container's port mapping needs): the same LAN URLs
#      and drawing as no --bind, not an http://0.0.0.0 URL no phone can open;
#   5. GET /api/v1/join: 401 without the token, 405 for POST; with it, exactly the LAN URLs the
#      log listed, each with an SVG (decoded in the admin page's browser test).
source "$(dirname "$0")/../lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
command -v zbarimg >/dev/null || lc_fail "zbarimg missing (deploy/install-deps.sh installs zbar-tools)"
command -v script >/dev/null || lc_fail "script missing (util-linux)"
TOKEN=qr-test-token-0123456789abcdef

# The LAN URLs the log lists ("listener page: URL  (ifname)"), loopback left out, in order.
lan_urls() { sed -n 's/.*listener page: \([^ ]*\) .*/\1/p' "$1" | grep -v '://127\.' || true; }

# ---- 1. text log to a file ----------------------------------------------------------------------
port=$(lc_free_port)
lc_start_server "$LC_TMP/text.log" --source tone:440 --port "$port" --state-dir "$LC_TMP/s1" \
  --api-token "$TOKEN"
first=$(lan_urls "$LC_TMP/text.log" | head -1)
[[ -n $first ]] || lc_fail "this machine has no non-loopback IPv4 address: the test needs one (log: $(cat "$LC_TMP/text.log"))"
grep -q "scan to listen: $first " "$LC_TMP/text.log" || lc_fail "no 'scan to listen: $first' line: $(cat "$LC_TMP/text.log")"
# right after the URLs: the line before "scan to listen" is the last "listener page:" line
prev=$(grep -B1 'scan to listen:' "$LC_TMP/text.log" | head -1)
[[ $prev == *"listener page:"* ]] || lc_fail "the QR code is not right under the URLs: '$prev'"
! grep -q $'\x1b' "$LC_TMP/text.log" || lc_fail "escape codes in a log that is not a terminal"
got=$(python3 "$HERE/qr_decode.py" "$LC_TMP/text.log") || lc_fail "the plain drawing does not decode"
[[ $got == "$first" ]] || lc_fail "plain drawing decodes to '$got', expected '$first'"
[[ $(curl -fsS --max-time 5 "${first}healthz") == ok ]] || lc_fail "the URL the QR code shows does not answer: $first"
lc_pass "text log: the plain QR drawing under the URLs decodes to $first (zbarimg), which answers"

# ---- 5. GET /api/v1/join (same server) ------------------------------------------------------------
base="http://127.0.0.1:$port/api/v1/join"
code=$(curl -sS -o /dev/null -w '%{http_code}' "$base")
[[ $code == 401 ]] || lc_fail "GET /api/v1/join without a token answered $code"
code=$(curl -sS -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" -X POST "$base")
[[ $code == 405 ]] || lc_fail "POST /api/v1/join answered $code"
curl -fsS -H "Authorization: Bearer $TOKEN" "$base" >"$LC_TMP/join.json" || lc_fail "GET /api/v1/join"
lan_urls "$LC_TMP/text.log" >"$LC_TMP/want.txt"
python3 - "$LC_TMP/join.json" "$LC_TMP/want.txt" <<'PY' || lc_fail "GET /api/v1/join: $(cat "$LC_TMP/join.json")"
import json, sys
j = json.load(open(sys.argv[1]))
want = open(sys.argv[2]).read().split()
urls = [u['url'] for u in j['urls']]
assert urls == want, (urls, want)
for u in j['urls']:
    assert isinstance(u['interface'], str) and u['interface'], u
    assert u['qr_svg'].startswith('<svg xmlns="http://www.w3.org/2000/svg"'), u['qr_svg'][:60]
    assert '<script' not in u['qr_svg']
PY
lc_pass "GET /api/v1/join: 401 without the token, 405 for POST, the $(wc -l <"$LC_TMP/want.txt") LAN URL(s) with SVG QR codes"
lc_stop_server || lc_fail "SIGTERM exit status"

# ---- 2. a terminal: the ANSI drawing, on dark and light backgrounds --------------------------------
port=$(lc_free_port)
# script(1) runs the server on a pty (stderr is a terminal) and copies the pty to the file
(timeout -s TERM 3 script -qfec "$(printf '%q ' "$LOOPCAST_BIN" --source tone:440 --port "$port" \
   --state-dir "$LC_TMP/s2" --api-token "$TOKEN")" "$LC_TMP/tty.log" >/dev/null 2>&1 || true)
first=$(lan_urls "$LC_TMP/tty.log" | head -1 | tr -d '\r')
grep -q $'\x1b\\[30;107m' "$LC_TMP/tty.log" || lc_fail "no ANSI-painted drawing on a terminal: $(cat -v "$LC_TMP/tty.log")"
for bg in dark light; do
  got=$(python3 "$HERE/qr_decode.py" "$LC_TMP/tty.log" --surround $bg) \
    || lc_fail "the ANSI drawing does not decode on a $bg terminal"
  [[ $got == "$first" ]] || lc_fail "ANSI drawing on a $bg terminal decodes to '$got', expected '$first'"
done
lc_pass "terminal: the ANSI QR drawing decodes to $first on a dark and on a light background"

# ---- 3. JSON log: no drawing -----------------------------------------------------------------------
port=$(lc_free_port)
lc_start_server "$LC_TMP/json.log" --source tone:440 --port "$port" --state-dir "$LC_TMP/s3" \
  --api-token "$TOKEN" --log-format json
lc_stop_server || lc_fail "SIGTERM exit status (json)"
python3 - "$LC_TMP/json.log" <<'PY' || lc_fail "JSON log: $(cat "$LC_TMP/json.log")"
import json, sys
msgs = [json.loads(l)['msg'] for l in open(sys.argv[1], encoding='utf-8') if l.strip()]
assert any('QR code of http' in m and 'on /admin' in m for m in msgs), msgs
PY
! grep -q $'\xe2\x96[\x80\x84\x88]' "$LC_TMP/json.log" || lc_fail "block drawing in a JSON log"
lc_pass "--log-format json: every line JSON, no drawing, one line pointing to /admin"

# ---- 4. loopback only ------------------------------------------------------------------------------
port=$(lc_free_port)
lc_start_server "$LC_TMP/lo.log" --source tone:440 --bind 127.0.0.1 --port "$port" \
  --state-dir "$LC_TMP/s4" --api-token "$TOKEN"
json=$(curl -fsS -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$port/api/v1/join")
lc_stop_server || lc_fail "SIGTERM exit status (loopback)"
grep -q 'QR code: no LAN address' "$LC_TMP/lo.log" || lc_fail "--bind 127.0.0.1: $(cat "$LC_TMP/lo.log")"
! grep -q $'\xe2\x96[\x80\x84\x88]' "$LC_TMP/lo.log" || lc_fail "a drawing of a loopback URL"
[[ $json == '{"urls":[]}' ]] || lc_fail "--bind 127.0.0.1: /api/v1/join answered $json"
lc_pass "--bind 127.0.0.1: no QR code, one line saying why; /api/v1/join lists nothing"

# ---- 6. --bind 0.0.0.0: every interface, listed as with no --bind ---------------------------------
port=$(lc_free_port)
lc_start_server "$LC_TMP/any.log" --source tone:440 --bind 0.0.0.0 --port "$port" \
  --state-dir "$LC_TMP/s6" --api-token "$TOKEN"
lc_stop_server || lc_fail "SIGTERM exit status (--bind 0.0.0.0)"
! grep -q '://0\.0\.0\.0' "$LC_TMP/any.log" || lc_fail "--bind 0.0.0.0 printed the unspecified address: $(cat "$LC_TMP/any.log")"
first=$(lan_urls "$LC_TMP/any.log" | head -1)
[[ -n $first ]] || lc_fail "--bind 0.0.0.0: no LAN URL listed: $(cat "$LC_TMP/any.log")"
got=$(python3 "$HERE/qr_decode.py" "$LC_TMP/any.log") || lc_fail "--bind 0.0.0.0: the drawing does not decode"
[[ $got == "$first" ]] || lc_fail "--bind 0.0.0.0: drawing decodes to '$got', expected '$first'"
lc_pass "--bind 0.0.0.0: each interface's URL listed and $first drawn, as with no --bind"
