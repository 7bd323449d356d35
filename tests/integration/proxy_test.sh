#!/usr/bin/env bash
# proxy_test.sh — loopcast behind the shipped reverse-proxy configs, nginx and Caddy, each run
# from deploy/proxy/ with only its ports, certificate paths and (for the test) log/temp paths
# substituted. loopcast runs as docs/deploy.md says: --bind 127.0.0.1 --trust-proxy 127.0.0.1.
# Through each proxy: /healthz, the page, the API with and without the token, WSS audio and
# events, the plain-HTTP redirect, and a real browser (CA trusted, not errors ignored) that opens
# https://127.0.0.1:<proxy port>/, presses Play and plays the tone steadily via WebCodecs.
# No root paths, no network, no ACME: temp prefix/HOME, 127.0.0.1 and free ports only.
source "$(dirname "$0")/../lib.sh"

HERE=$LC_ROOT/tests/integration
PROXY=$LC_ROOT/deploy/proxy
TOKEN=proxy-test-token-0123456789abcdef
fails=0
check() { if [[ $1 == 0 ]]; then echo "PASS: $2"; else echo "FAIL: $2"; fails=$((fails + 1)); fi; }

command -v nginx >/dev/null || lc_fail "nginx is not installed (deploy/install-deps.sh installs it)"
command -v caddy >/dev/null || lc_fail "caddy is not installed (deploy/install-deps.sh installs it)"

PROXY_PIDS=()
stop_proxies() {
  local p w
  for p in "${PROXY_PIDS[@]:-}"; do
    [[ -n $p ]] || continue
    # nginx's workers are the master's children: name them before the master goes.
    w=$(pgrep -P "$p" 2>/dev/null || true)
    kill -TERM "$p" 2>/dev/null
    for _ in $(seq 1 30); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" $w 2>/dev/null
  done
  PROXY_PIDS=()
}
trap 'stop_proxies; lc_cleanup' EXIT

"$LC_ROOT/deploy/make-cert.sh" --dir "$LC_TMP/cert" --no-detect loopcast.test >/dev/null ||
  lc_fail "make-cert.sh failed"
CERT=$LC_TMP/cert/tls-cert.pem KEY=$LC_TMP/cert/tls-key.pem CA=$LC_TMP/cert/tls-ca.crt

lport=$(lc_free_port)
lc_start_server "$LC_TMP/loopcast.log" --source tone:1000 --bind 127.0.0.1 --port "$lport" \
  --trust-proxy 127.0.0.1 --api-token "$TOKEN" --state-dir "$LC_TMP/state"

# render SRC DST SED-EXPRS... : copies SRC with each substitution applied, failing when one of
# them matches nothing (the shipped file changed under the test: update both together).
render() {
  local src=$1 dst=$2 e
  shift 2
  cp "$src" "$dst"
  for e in "$@"; do
    sed -i "$e" "$dst"
  done
  for e in "$@"; do
    # each s|old|new| must have changed something
    local old=${e#s|}; old=${old%%|*}; old=${old#^}
    grep -qF -- "$old" "$src" || lc_fail "$src no longer contains '$old'"
  done
}

# through NAME PORT REDIRECT-PORT EXPECTED-LOCATION: the checks every proxy must pass.
through() {
  local name=$1 port=$2 rport=$3 want_loc=$4 code r loc
  local CURL=(curl -sS --max-time 5 --cacert "$CA")
  [[ $("${CURL[@]}" "https://127.0.0.1:$port/healthz") == ok ]]
  check $? "$name: /healthz over https"
  page=$("${CURL[@]}" -D "$LC_TMP/$name.h" "https://127.0.0.1:$port/")
  [[ $page == *"<html"* ]] && grep -qi '^content-security-policy:' "$LC_TMP/$name.h"
  check $? "$name: the page loads (with loopcast's CSP)"
  code=$("${CURL[@]}" -o "$LC_TMP/$name.api" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
    "https://127.0.0.1:$port/api/v1/sessions")
  [[ $code == 200 ]] && grep -q '"sessions"' "$LC_TMP/$name.api"
  check $? "$name: API with the token: $code $(head -c 80 "$LC_TMP/$name.api")"
  code=$("${CURL[@]}" -o /dev/null -w '%{http_code}' "https://127.0.0.1:$port/api/v1/sessions")
  [[ $code == 401 ]]
  check $? "$name: API without the token: $code"
  node "$HERE/tls_wss.mjs" "https://127.0.0.1:$port" "$CA" "$TOKEN"
  check $? "$name: WSS audio packets and events through the proxy"
  r=$(curl -sS --max-time 5 -o /dev/null -D - "http://127.0.0.1:$rport/healthz?x=1&y=2" | tr -d '\r')
  loc=$(sed -n 's/^location: //Ip' <<<"$r")
  [[ $r == "HTTP/1.1 308"* && $loc == "$want_loc" ]]
  check $? "$name: plain HTTP port redirects 308 to $loc"
  node "$HERE/tls_browser.mjs" "https://127.0.0.1:$port/" secure --ca "$CA"
  check $? "$name: browser plays through the proxy (secure context, WebCodecs + AudioWorklet)"
}

# wait_proxy PORT: until the proxy on PORT answers /healthz over TLS (5 s at most; the checks
# that follow say what is wrong if it never does).
wait_proxy() {
  for _ in $(seq 1 50); do
    curl -sf -o /dev/null --max-time 1 --cacert "$CA" "https://127.0.0.1:$1/healthz" && return 0
    sleep 0.1
  done
}

# ---- nginx ----------------------------------------------------------------------------------
N=$LC_TMP/nginx
mkdir -p "$N/tmp"
nport=$(lc_free_port) nrport=$(lc_free_port)
render "$PROXY/nginx.conf" "$N/nginx.conf" \
  "s|listen 443 ssl;|listen 127.0.0.1:$nport ssl;|" \
  "s|listen 80;|listen 127.0.0.1:$nrport;|" \
  "s|server 127.0.0.1:8080;|server 127.0.0.1:$lport;|" \
  "s|/etc/loopcast/tls-cert.pem|$CERT|" \
  "s|/etc/loopcast/tls-key.pem|$KEY|" \
  "s|^http {|http {\n    access_log $N/access.log;\n    client_body_temp_path $N/tmp/body;\n    proxy_temp_path $N/tmp/proxy;\n    fastcgi_temp_path $N/tmp/fastcgi;\n    uwsgi_temp_path $N/tmp/uwsgi;\n    scgi_temp_path $N/tmp/scgi;|"
# As root, nginx would hand its workers to "nobody", who cannot enter the 0700 temp dir.
user=""
[[ $(id -u) == 0 ]] && user="user root;"
G="daemon off; pid $N/nginx.pid; error_log $N/error.log notice; $user"
nginx -t -q -p "$N" -e "$N/error.log" -c "$N/nginx.conf" -g "$G" 2>"$N/t.err"
check $? "nginx -t accepts the rendered deploy/proxy/nginx.conf $(cat "$N/t.err")"
nginx -p "$N" -e "$N/error.log" -c "$N/nginx.conf" -g "$G" 2>>"$N/error.log" &
PROXY_PIDS+=($!)
wait_proxy "$nport"
through nginx "$nport" "$nrport" "https://127.0.0.1/healthz?x=1&y=2"
grep -q '"GET /stream HTTP/1.1" 101' "$N/access.log"
check $? "nginx: its access log shows the /stream upgrade (101)"
stop_proxies

# ---- Caddy ----------------------------------------------------------------------------------
K=$LC_TMP/caddy
mkdir -p "$K/home" "$K/data" "$K/config"
cport=$(lc_free_port) crport=$(lc_free_port)
render "$PROXY/Caddyfile" "$K/Caddyfile" \
  "s|https://loopcast.example.lan:443|https://127.0.0.1:$cport|" \
  "s|http://loopcast.example.lan:80|http://127.0.0.1:$crport|" \
  "s|reverse_proxy 127.0.0.1:8080|reverse_proxy 127.0.0.1:$lport|" \
  "s|/etc/loopcast/tls-cert.pem|$CERT|" \
  "s|/etc/loopcast/tls-key.pem|$KEY|" \
  "s|auto_https disable_redirects|auto_https disable_redirects\n\tadmin off|"
KENV=(env HOME="$K/home" XDG_DATA_HOME="$K/data" XDG_CONFIG_HOME="$K/config")
"${KENV[@]}" caddy validate --config "$K/Caddyfile" --adapter caddyfile >"$K/validate.log" 2>&1
check $? "caddy validate accepts the rendered deploy/proxy/Caddyfile"
"${KENV[@]}" caddy run --config "$K/Caddyfile" --adapter caddyfile >"$K/caddy.log" 2>&1 &
PROXY_PIDS+=($!)
wait_proxy "$cport"
through caddy "$cport" "$crport" "https://127.0.0.1/healthz?x=1&y=2"
stop_proxies
if grep -qi 'acme\|obtain' "$K/caddy.log"; then
  check 1 "caddy: no ACME activity ($(grep -i -m1 'acme\|obtain' "$K/caddy.log"))"
else
  check 0 "caddy: no ACME activity"
fi

lc_stop_server
rc=$?
check $rc "loopcast exits 0 on SIGTERM ($rc)"
((fails == 0)) || { tail -n 5 "$N/error.log" "$K/caddy.log" >&2; lc_fail "$fails check(s) failed"; }
lc_pass "proxy"
