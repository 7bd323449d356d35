#!/usr/bin/env bash
# lws_test.sh — does the Windows build's libwebsockets serve many clients? Builds
# check/lws_fanout.c against the dependency prefix of build.sh, runs it under Wine (headless,
# WINEDEBUG=-all, the cache's Wine prefix) listening on 127.0.0.1, and connects
# check/lws_clients.py's N clients (default 100, i.e. more than WSAWaitForMultipleEvents' 64) from
# Linux: every connection must get the ticks pushed after each lws_cancel_service() and an echo of
# what it sends, before and after connections are closed from the middle of lws's fds table.
#
#   deploy/windows/lws_test.sh                 # the patched libwebsockets (what build.sh ships)
#   deploy/windows/lws_test.sh --no-patches    # the same without deploy/windows/patches (shows
#                                              # the two defects; builds a second prefix once)
#   LC_LWS_CLIENTS=20 deploy/windows/lws_test.sh
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
N=${LC_LWS_CLIENTS:-100}
PORT=${LC_LWS_PORT:-$((20000 + RANDOM % 20000))}
for c in wine wineserver python3 x86_64-w64-mingw32-gcc; do
  command -v "$c" >/dev/null || { echo "FAIL: missing $c (apt-get install wine wine64 mingw-w64 python3)"; exit 1; }
done

out=$("$HERE/build.sh" --deps-only "$@") || { printf '%s\n' "$out"; echo "FAIL: build.sh"; exit 1; }
PREFIX=$(sed -n 's/^==> dependencies: //p' <<<"$out")
CACHE=$(dirname "$PREFIX")
printf '%s\n' "$out" | grep -A8 '^==> Windows dependencies' | grep -E 'libwebsockets|WITHOUT' || true

WORK=$(mktemp -d /tmp/lc-lws-XXXXXX)
EXE=$WORK/lws_fanout.exe
# shellcheck disable=SC2046
x86_64-w64-mingw32-gcc -std=c11 -O2 -Wall -Wextra -o "$EXE" "$HERE/check/lws_fanout.c" \
  $(PKG_CONFIG_LIBDIR=$PREFIX/lib/pkgconfig PKG_CONFIG_PATH="" pkg-config --cflags --libs libwebsockets) -static

export WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml=" WINEPREFIX=$CACHE/wineprefix
mkdir -p "$WINEPREFIX"
exec 9>"$CACHE/wineprefix.lock"
flock 9 # one user of the Wine prefix at a time
SRV=""
cleanup() {
  [[ -n "$SRV" ]] && kill "$SRV" 2>/dev/null
  wineserver -k 2>/dev/null || true # this prefix's wineserver only
  wait 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

timeout 120 wine "$EXE" "$PORT" 90 >"$WORK/server.out" 2>"$WORK/server.err" &
SRV=$!
for _ in $(seq 600); do grep -q '^listening' "$WORK/server.out" 2>/dev/null && break; sleep 0.1; done
grep -q '^listening' "$WORK/server.out" || { echo "FAIL: lws_fanout.exe did not start"; cat "$WORK/server.err"; exit 1; }
rc=0
python3 "$HERE/check/lws_clients.py" "$PORT" "$N" || rc=$?
wait "$SRV" || true
SRV=""
tr -d '\r' <"$WORK/server.out" | grep '^summary' | sed 's/^/server: /'
grep -v '^$' "$WORK/server.err" | tr -d '\r' | sort | uniq -c | sort -rn | head -5 | sed 's/^/server stderr: /' || true
exit $rc
