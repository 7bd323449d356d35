# tests/lib.sh — shared by the shell tests that start real servers. Source it, then:
#   port=$(lc_free_port)                 a free TCP port on 127.0.0.1
#   lc_start_server LOG ARGS...          starts $LOOPCAST_BIN in the background, sets LC_PID,
#                                        waits for /healthz (fails the test after 20 s)
#   lc_stop_server [SIG]                 SIGTERM (default) and wait; returns the exit status
# Every server started here is killed on exit (trap), so a failing test never leaves one behind.
set -uo pipefail

LC_ROOT=${LC_TEST_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
LOOPCAST_BIN=${LOOPCAST_BIN:-$LC_ROOT/build/server/loopcast}
LC_BENCH=${LC_BENCH:-$(dirname "$LOOPCAST_BIN")/../tests/bench/loopcast-bench}
LC_PIDS=()
LC_TMP=$(mktemp -d)

lc_cleanup() {
  local p
  for p in "${LC_PIDS[@]:-}"; do
    [[ -n "$p" ]] && kill -KILL "$p" 2>/dev/null
  done
  rm -rf "$LC_TMP"
}
trap lc_cleanup EXIT

lc_fail() { echo "FAIL: $*" >&2; exit 1; }
lc_pass() { echo "PASS: $*"; }

# Ports below the kernel's ephemeral range (32768+ here), so the thousands of client sockets a
# test opens can never be holding the port a server is about to bind.
lc_free_port() {
  local p lo
  lo=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
  for _ in $(seq 1 200); do
    p=$((10000 + RANDOM % (lo - 10000)))
    if ! ss -Htan "sport = :$p" 2>/dev/null | grep -q .; then
      echo "$p"
      return 0
    fi
  done
  return 1
}

# lc_wait_http URL [SECONDS]: until the URL answers 200.
lc_wait_http() {
  local url=$1 secs=${2:-20} i
  for ((i = 0; i < secs * 10; i++)); do
    curl -fsS -o /dev/null --max-time 1 "$url" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

lc_start_server() {
  local log=$1; shift
  [[ -x "$LOOPCAST_BIN" ]] || lc_fail "no loopcast binary at $LOOPCAST_BIN"
  "$LOOPCAST_BIN" "$@" >"$log" 2>&1 &
  LC_PID=$!
  LC_PIDS+=("$LC_PID")
  local port="" a
  for a in "$@"; do [[ "${prev:-}" == "--port" ]] && port=$a; prev=$a; done
  local i
  for ((i = 0; i < 200; i++)); do
    curl -fsS -o /dev/null --max-time 1 "http://127.0.0.1:${port:-8080}/healthz" 2>/dev/null && return 0
    if ! kill -0 "$LC_PID" 2>/dev/null; then
      cat "$log" >&2
      lc_fail "server exited before answering /healthz"
    fi
    sleep 0.1
  done
  cat "$log" >&2
  lc_fail "server did not answer /healthz within 20 s"
}

lc_stop_server() {
  local sig=${1:-TERM} rc
  kill -"$sig" "$LC_PID" 2>/dev/null
  wait "$LC_PID"
  rc=$?
  return $rc
}

# lc_decode_tone SECONDS INPUT [FFMPEG-INPUT-OPTION...]: ffmpeg decodes SECONDS of INPUT (a URL, an
# SDP file with -protocol_whitelist file,udp,rtp, …) to mono 48 kHz; prints "FREQ RMS SECONDS":
# the tone's frequency from the zero crossings and its RMS over the second half (past the
# decoder's start), and how much was decoded. Fails the test if ffmpeg cannot decode it.
lc_decode_tone() {
  local secs=$1 input=$2; shift 2
  timeout $((secs + 15)) ffmpeg -nostdin -v error "$@" -i "$input" -t "$secs" -f s16le -ac 1 -ar 48000 \
    "$LC_TMP/tone.raw" -y || lc_fail "ffmpeg could not decode $input"
  python3 - "$LC_TMP/tone.raw" <<'PY'
import struct, sys, math
d = open(sys.argv[1], 'rb').read(); n = len(d) // 2
x = struct.unpack('<%dh' % n, d)[n // 2:]
z = sum(1 for i in range(1, len(x)) if (x[i - 1] < 0) != (x[i] < 0))
rms = math.sqrt(sum(v * v for v in x) / max(1, len(x))) / 32768
print('%.1f %.4f %.2f' % (z / 2 / (len(x) / 48000), rms, n / 48000))
PY
}

# Icecast 2.4 servers for the output tests (Debian's icecast2; as root it drops to nobody):
#   lc_icecast_conf NAME PORT PASSWORD [XML [PEM]]  a minimal config in $LC_TMP/NAME.xml (source
#                                              password PASSWORD, admin admin/admin-pw; XML
#                                              e.g. a <relay> or a TLS <listen-socket>, PEM its
#                                              certificate and key), logs in $LC_TMP/NAME/
#   lc_icecast_start NAME PORT                 runs it, waits for it; sets ICE_PID
#   lc_icecast_mounts PORT                     its live mounts, one per line
#   lc_icecast_wait_mount PORT MOUNT SECONDS
lc_icecast_conf() {
  local owner=""
  [[ $(id -u) == 0 ]] && owner="<changeowner><user>nobody</user><group>nogroup</group></changeowner>"
  chmod 755 "$LC_TMP" && mkdir -p "$LC_TMP/$1" && chmod 777 "$LC_TMP/$1"
  cat >"$LC_TMP/$1.xml" <<EOF
<icecast>
  <location>test</location><admin>test@localhost</admin>
  <limits><clients>50</clients><sources>8</sources><queue-size>524288</queue-size>
    <client-timeout>30</client-timeout><header-timeout>15</header-timeout>
    <source-timeout>10</source-timeout><burst-size>65535</burst-size></limits>
  <authentication><source-password>$3</source-password><relay-password>relay-pw</relay-password>
    <admin-user>admin</admin-user><admin-password>admin-pw</admin-password></authentication>
  <hostname>127.0.0.1</hostname>
  <listen-socket><port>$2</port><bind-address>127.0.0.1</bind-address></listen-socket>
  ${4:-}
  <paths>${5:+<ssl-certificate>$5</ssl-certificate>}<basedir>/usr/share/icecast2</basedir><logdir>$LC_TMP/$1</logdir>
    <webroot>/usr/share/icecast2/web</webroot><adminroot>/usr/share/icecast2/admin</adminroot></paths>
  <logging><accesslog>access.log</accesslog><errorlog>error.log</errorlog><loglevel>3</loglevel></logging>
  <security><chroot>0</chroot>$owner</security>
</icecast>
EOF
}
lc_icecast_start() {
  icecast2 -c "$LC_TMP/$1.xml" >"$LC_TMP/$1.out" 2>&1 &
  ICE_PID=$!
  LC_PIDS+=("$ICE_PID")
  lc_wait_http "http://127.0.0.1:$2/status-json.xsl" 10 || { cat "$LC_TMP/$1.out"; lc_fail "icecast2 $1 did not start"; }
}
lc_icecast_mounts() {
  curl -sf -u admin:admin-pw "http://127.0.0.1:$1/admin/listmounts" | grep -o 'mount="/[^"]*"' |
    sed 's/^mount="\///; s/"$//'
}
lc_icecast_wait_mount() {
  local i
  for ((i = 0; i < $3 * 10; i++)); do lc_icecast_mounts "$1" | grep -qx "$2" && return 0; sleep 0.1; done
  return 1
}

