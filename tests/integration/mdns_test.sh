#!/usr/bin/env bash
# mdns_test.sh — the mDNS / DNS-SD advertising (issue 13, Phones) against a real avahi-daemon,
# read back with avahi-browse the way any DNS-SD browser on the LAN would see it:
#   1. plain HTTP: _http._tcp and _loopcast._tcp as "loopcast on HOST" on the port, every TXT key
#      (path, api, version, tls=0); after SIGTERM both are gone (goodbye packets)
#   2. HTTPS with --redirect-port: _https._tcp on the TLS port, _loopcast._tcp tls=1, _http._tcp
#      on the redirect port
#   3. the name taken by another service: "loopcast on HOST #2"
#   4. --mdns off (and LOOPCAST_MDNS=off): nothing is published
#   5. --bind 127.0.0.1: "loopback ... not advertising", nothing published
#   6. the daemon absent: one line "mDNS: avahi-daemon not reachable (...); not advertising", the
#      page is served; the daemon starts: advertised; the daemon restarts: advertised again
#   7. no D-Bus system bus at all (a container): the same one line, the page is served
# Everything private to the test: a D-Bus "system" bus on a socket in the temp folder
# (DBUS_SYSTEM_BUS_ADDRESS, which libavahi-client and avahi-browse honour) and an avahi-daemon on
# the loopback interface only, in its own mount namespace (unshare) with a tmpfs over
# /run/avahi-daemon, so its pid file and socket never meet a system daemon or another test run.
# Missing tools are a FAILURE, not a skip: deploy/install-deps.sh installs them.
source "$(dirname "$0")/../lib.sh"

FAILS=0
# Under TSan: a lock-order report inside libdbus that cannot deadlock, and glibc's time zone lock it cannot see (tests/mdns/tsan.supp says why)
export TSAN_OPTIONS="${TSAN_OPTIONS:+$TSAN_OPTIONS:}suppressions=$LC_ROOT/tests/mdns/tsan.supp"
check() { if [[ $1 -eq 0 ]]; then lc_pass "$2"; else echo "FAIL: $2" >&2; FAILS=$((FAILS + 1)); fi; }
for c in dbus-daemon avahi-daemon avahi-browse avahi-publish unshare curl openssl; do
  command -v "$c" >/dev/null || lc_fail "$c is missing: run deploy/install-deps.sh"
done

# ---- a private system bus and avahi-daemon ---------------------------------------------------
BUS=$LC_TMP/system_bus_socket
cat >"$LC_TMP/bus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$BUS</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
EOF
# Loopback only: the test announces nothing on the real network. No IPv6: one answer per service.
cat >"$LC_TMP/avahi.conf" <<'EOF'
[server]
use-ipv4=yes
use-ipv6=no
allow-interfaces=lo
enable-dbus=yes
ratelimit-interval-usec=1000000
ratelimit-burst=1000
[wide-area]
enable-wide-area=no
[publish]
publish-hinfo=no
publish-workstation=no
EOF
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$BUS
dbus-daemon --config-file="$LC_TMP/bus.conf" --nofork >"$LC_TMP/dbus.log" 2>&1 &
DBUS_PID=$!
LC_PIDS+=("$DBUS_PID")
for ((i = 0; i < 50; i++)); do [[ -S $BUS ]] && break; sleep 0.1; done
[[ -S $BUS ]] || { cat "$LC_TMP/dbus.log"; lc_fail "dbus-daemon did not start"; }

# avahi-daemon keeps its pid file in /run/avahi-daemon (compiled in): give it a private one.
# As root a mount namespace is enough; otherwise a user namespace maps us to root first.
UNSHARE=(unshare -m)
[[ $(id -u) -eq 0 ]] || UNSHARE=(unshare -rm)
"${UNSHARE[@]}" true 2>/dev/null || lc_fail "'${UNSHARE[*]}' does not work here (needs root or user namespaces)"
AVAHI_PID=""
avahi_start() {
  : >"$LC_TMP/avahi.log"
  "${UNSHARE[@]}" sh -c 'mkdir -p /run/avahi-daemon && mount -t tmpfs none /run/avahi-daemon &&
    exec avahi-daemon -f "$1" --no-drop-root --no-chroot --no-rlimits --no-proc-title' \
    sh "$LC_TMP/avahi.conf" >>"$LC_TMP/avahi.log" 2>&1 &
  AVAHI_PID=$!
  LC_PIDS+=("$AVAHI_PID")
  for ((i = 0; i < 100; i++)); do
    grep -q "Server startup complete" "$LC_TMP/avahi.log" && return 0
    kill -0 "$AVAHI_PID" 2>/dev/null || break
    sleep 0.1
  done
  cat "$LC_TMP/avahi.log" >&2
  lc_fail "avahi-daemon did not start"
}
avahi_stop() { kill -TERM "$AVAHI_PID" 2>/dev/null; wait "$AVAHI_PID" 2>/dev/null; AVAHI_PID=""; }

# ---- helpers ---------------------------------------------------------------------------------
HOST=$(hostname | cut -d. -f1)
VERSION=$("$LOOPCAST_BIN" --version | awk '{print $2}')
# avahi-browse -p escapes the name: a space is \032, '#' is \035
NAME="loopcast\\032on\\032$HOST"

# Each avahi-browse takes ~1 s (it waits for the daemon's "all for now"), so the test browses
# every type at once and picks what it needs from that snapshot.
# snapshot: every resolved service ("=;lo;IPv4;NAME;TYPE;local;HOST;ADDR;PORT;TXT") into $SNAP
snapshot() { SNAP=$(timeout 5 avahi-browse -arptk 2>/dev/null | grep "^=;"); }
# line TYPE PORT: our instance of TYPE on PORT in $SNAP ("" if none)
line() { awk -F';' -v t="$1" -v p="$2" '$5 == t && $9 == p' <<<"$SNAP"; }
# wait_for PORT TYPE...: snapshots until every TYPE is there on PORT, for 20 s at most (a publish
# takes ~1 s of probing, a snapshot ~1 s; on a loaded 2-core machine under ASan the TLS server's
# services once took longer than the 10 snapshots this used to allow); WAITED says how long it took.
wait_for() {
  local port=$1 t ok start=$SECONDS; shift
  while ((SECONDS - start < 20)); do
    snapshot
    ok=1
    for t in "$@"; do [[ -n "$(line "$t" "$port")" ]] || ok=0; done
    WAITED=$((SECONDS - start))
    ((ok)) && return 0
  done
  return 1
}
# gone NAME: waits up to 5 s until no service of that instance name is left in the daemon's cache
gone() {
  for ((i = 0; i < 5; i++)); do
    # '+' adds, '-' removes: what is left is what a browser still lists
    n=$(timeout 5 avahi-browse -aptk 2>/dev/null | awk -F';' -v n="$1" \
      '$4 == n { c += ($1 == "+") ? 1 : ($1 == "-") ? -1 : 0 } END { print c + 0 }')
    ((n <= 0)) && return 0
  done
  return 1
}
# txt LINE: the TXT part of a resolved line, one "key=value" a line
txt() { cut -d';' -f10- <<<"$1" | grep -o '"[^"]*"' | tr -d '"'; }
has_all() { local t=$1; shift; for kv in "$@"; do grep -qxF "$kv" <<<"$t" || return 1; done; }
mdns_lines() { grep -c "$1" "$2"; }

# stop LOG: SIGTERM, and the exit status must be 0 (under ASan a leak or an error makes it not)
stop() {
  lc_stop_server
  local rc=$?
  ((rc == 0)) || { check 1 "$(basename "$1"): exit status $rc after SIGTERM (want 0)"; tail -30 "$1" >&2; }
  return $rc
}
start() { # start LOG ARGS...: a plain-HTTP server with the tone source and private state
  local log=$1; shift
  lc_start_server "$log" --source tone:440 --state-dir "$LC_TMP/state-$RANDOM" "$@"
}

avahi_start

# ---- 1. plain HTTP ----------------------------------------------------------------------------
P=$(lc_free_port)
start "$LC_TMP/plain.log" --bind 0.0.0.0 --port "$P"
wait_for "$P" _http._tcp _loopcast._tcp
http=$(line _http._tcp "$P")
lc=$(line _loopcast._tcp "$P")
[[ $(cut -d';' -f4 <<<"$http") == "$NAME" ]] && has_all "$(txt "$http")" "path=/"
check $? "_http._tcp: '$(cut -d';' -f4,9,10 <<<"$http")'"
[[ $(cut -d';' -f4 <<<"$lc") == "$NAME" && $(cut -d';' -f8 <<<"$lc") == 127.0.0.1 ]] &&
  has_all "$(txt "$lc")" "path=/" "api=/api/v1" "version=$VERSION" "tls=0"
check $? "_loopcast._tcp: '$(cut -d';' -f4,8,9,10 <<<"$lc")'"
[[ $(txt "$lc" | wc -l) -eq 4 ]]
check $? "_loopcast._tcp has exactly path, api, version, tls"
grep -q "mDNS: advertising 'loopcast on $HOST' (_http._tcp port $P, _loopcast._tcp port $P)" "$LC_TMP/plain.log"
check $? "the log says what is advertised"
stop "$LC_TMP/plain.log"
rc=$?
gone "$NAME" && ((rc == 0))
check $? "after SIGTERM (exit $rc) both services are gone from the network"
grep -q "mDNS: 'loopcast on $HOST' withdrawn" "$LC_TMP/plain.log"
check $? "the log says they were withdrawn"

# ---- 2. HTTPS and the redirect port ------------------------------------------------------------
"$LC_ROOT/deploy/make-cert.sh" --dir "$LC_TMP/cert" --no-detect localhost >/dev/null 2>&1 ||
  lc_fail "deploy/make-cert.sh failed"
P=$(lc_free_port)
R=$(lc_free_port)
"$LOOPCAST_BIN" --source tone:440 --state-dir "$LC_TMP/state-tls" --port "$P" --redirect-port "$R" \
  --tls-cert "$LC_TMP/cert/tls-cert.pem" --tls-key "$LC_TMP/cert/tls-key.pem" >"$LC_TMP/tls.log" 2>&1 &
LC_PID=$!
LC_PIDS+=("$LC_PID")
# serving first (TLS set-up under ASan is slow), so the wait below is the advertisement's alone
for ((i = 0; i < 200; i++)); do curl -fsSk -o /dev/null --max-time 1 "https://127.0.0.1:$P/healthz" 2>/dev/null && break; sleep 0.1; done
((i < 200)) || check 1 "TLS: the server did not answer on https://127.0.0.1:$P in 20 s: $(tail -5 "$LC_TMP/tls.log")"
wait_for "$P" _https._tcp _loopcast._tcp
echo "TLS: _https._tcp and _loopcast._tcp seen ${WAITED:-?} s after the server answered"
wait_for "$R" _http._tcp
https=$(line _https._tcp "$P")
lc=$(line _loopcast._tcp "$P")
http=$(line _http._tcp "$R")
[[ $(cut -d';' -f4 <<<"$https") == "$NAME" ]] && has_all "$(txt "$https")" "path=/"
check $? "TLS: _https._tcp on the TLS port: '$(cut -d';' -f4,9,10 <<<"$https")'"
has_all "$(txt "$lc")" "path=/" "api=/api/v1" "version=$VERSION" "tls=1"
check $? "TLS: _loopcast._tcp says tls=1: '$(cut -d';' -f9,10 <<<"$lc")'"
[[ $(cut -d';' -f4 <<<"$http") == "$NAME" ]] && has_all "$(txt "$http")" "path=/"
check $? "TLS: _http._tcp on the redirect port: '$(cut -d';' -f4,9,10 <<<"$http")'"
[[ -z "$(line _http._tcp "$P")" ]]
check $? "TLS: no _http._tcp on the TLS port"
stop "$LC_TMP/tls.log"

# ---- 3. a name collision ----------------------------------------------------------------------
avahi-publish -s "loopcast on $HOST" _http._tcp 9 >"$LC_TMP/publish.log" 2>&1 &
PUB=$!
LC_PIDS+=("$PUB")
for ((i = 0; i < 50; i++)); do grep -q "Established" "$LC_TMP/publish.log" && break; sleep 0.1; done
P=$(lc_free_port)
start "$LC_TMP/collide.log" --port "$P"
wait_for "$P" _loopcast._tcp
lc=$(line _loopcast._tcp "$P")
[[ $(cut -d';' -f4 <<<"$lc") == "$NAME\\032\\0352" ]] &&
  grep -q "mDNS: the name 'loopcast on $HOST' is taken; using 'loopcast on $HOST #2'" "$LC_TMP/collide.log"
check $? "a taken name becomes '$(cut -d';' -f4 <<<"$lc")'"
stop "$LC_TMP/collide.log"
kill "$PUB" 2>/dev/null

# ---- 4. --mdns off, LOOPCAST_MDNS=off -----------------------------------------------------------
P=$(lc_free_port)
start "$LC_TMP/off.log" --port "$P" --mdns off
OFF_PID=$LC_PID
P2=$(lc_free_port)
LOOPCAST_MDNS=off start "$LC_TMP/off-env.log" --port "$P2"
sleep 1 # a publish takes ~1 s here (probing); the snapshot another 1 s
snapshot
[[ -z "$(line _loopcast._tcp "$P")$(line _http._tcp "$P")$(line _loopcast._tcp "$P2")" ]] &&
  grep -q "mDNS: off (--mdns off / LOOPCAST_MDNS=off); not advertising" "$LC_TMP/off.log" &&
  grep -q "mDNS: off (--mdns off / LOOPCAST_MDNS=off); not advertising" "$LC_TMP/off-env.log" &&
  ! grep -q "mDNS: advertising" "$LC_TMP/off.log" "$LC_TMP/off-env.log"
check $? "--mdns off and LOOPCAST_MDNS=off: nothing published"
stop "$LC_TMP/off-env.log"
LC_PID=$OFF_PID
stop "$LC_TMP/off.log"

# ---- 5. bound to loopback -----------------------------------------------------------------------
P=$(lc_free_port)
start "$LC_TMP/loop.log" --bind 127.0.0.1 --port "$P"
snapshot
[[ -z "$(line _loopcast._tcp "$P")" ]] &&
  grep -q "mDNS: --bind 127.0.0.1 is loopback: no other machine could connect; not advertising" "$LC_TMP/loop.log"
check $? "--bind 127.0.0.1: not advertised, and the log says why"
stop "$LC_TMP/loop.log"

# ---- 6. the daemon absent, then started, then restarted -----------------------------------------
avahi_stop
P=$(lc_free_port)
start "$LC_TMP/absent.log" --port "$P"
sleep 1.5
[[ $(curl -fsS "http://127.0.0.1:$P/healthz") == ok ]] &&
  [[ $(mdns_lines "mDNS: avahi-daemon not reachable (Daemon not running); not advertising" "$LC_TMP/absent.log") -eq 1 ]]
check $? "no avahi-daemon: one line '$(grep -o 'mDNS: avahi-daemon not reachable.*' "$LC_TMP/absent.log")', the page is served"
avahi_start
wait_for "$P" _loopcast._tcp
[[ $(line _loopcast._tcp "$P" | cut -d';' -f4) == "$NAME" ]]
check $? "avahi-daemon started later: advertised without a restart of loopcast"
avahi_stop
avahi_start
wait_for "$P" _loopcast._tcp
[[ $(line _loopcast._tcp "$P" | cut -d';' -f4) == "$NAME" ]] && grep -q "mDNS: lost avahi-daemon" "$LC_TMP/absent.log" &&
  [[ $(mdns_lines "mDNS: advertising" "$LC_TMP/absent.log") -eq 2 ]]
check $? "avahi-daemon restarted: advertised again"
stop "$LC_TMP/absent.log"
gone "$NAME"
check $? "and withdrawn after SIGTERM"

# ---- 7. no D-Bus system bus at all ---------------------------------------------------------------
P=$(lc_free_port)
DBUS_SYSTEM_BUS_ADDRESS=unix:path=$LC_TMP/no-such-bus start "$LC_TMP/nobus.log" --port "$P"
sleep 3.5 # two retries (1 s, 2 s): still one line
[[ $(curl -fsS "http://127.0.0.1:$P/healthz") == ok ]] &&
  [[ $(mdns_lines "mDNS: avahi-daemon not reachable (.*); not advertising" "$LC_TMP/nobus.log") -eq 1 ]] &&
  [[ $(grep -c "mdns" "$LC_TMP/nobus.log") -eq 1 ]]
check $? "no system bus: one line '$(grep -o 'mDNS: .*' "$LC_TMP/nobus.log")', the page is served"
stop "$LC_TMP/nobus.log"
check $? "and it stops cleanly (exit 0)"

avahi_stop
kill -TERM "$DBUS_PID"; wait "$DBUS_PID"
((FAILS == 0)) || lc_fail "$FAILS check(s) failed"
lc_pass "mdns: every check"
