#!/usr/bin/env bash
# package_test.sh — the Windows package as a user downloads it, built by the one command a
# developer runs (deploy/windows/build.sh, dependencies from the cache outside the tree):
#   1. build.sh succeeds and prints how long it took (first run: the dependencies too; then seconds)
#   2. the zip holds loopcast/loopcast.exe (the very file the Wine tests run), README-windows.txt
#      with CRLF line ends, and a licence text for every dependency in deploy/windows/deps.list
#   3. the zip is at most 10 MiB (build.sh itself refuses an .exe that imports a DLL Windows lacks)
# The Wine tests (wine_test.sh, wine_server_test.sh) run what this built.
# usage: package_test.sh SOURCE_DIR PACKAGE_BUILD_DIR
set -uo pipefail
SRC=${1:?usage: $0 SOURCE_DIR PACKAGE_BUILD_DIR}
PKG=${2:?usage: $0 SOURCE_DIR PACKAGE_BUILD_DIR}
FAILS=0
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
pass() { echo "ok:   $*"; }
for c in x86_64-w64-mingw32-gcc unzip zip cmake; do
  command -v "$c" >/dev/null || { echo "FAIL: missing $c — run deploy/install-deps.sh"; exit 1; }
done

t0=$(date +%s)
if ! LC_WIN_BUILD=$PKG nice -n 5 "$SRC/deploy/windows/build.sh" >"$PKG.log" 2>&1; then
  echo "FAIL: deploy/windows/build.sh"; tail -40 "$PKG.log"; exit 1
fi
pass "deploy/windows/build.sh in $(($(date +%s) - t0)) s"
grep -E '^    (name|opus|speexdsp|cjson|openssl|libwebsockets|qrencode) |imports:|MiB' "$PKG.log" | sed 's/^/      /'

ZIP=$PKG/loopcast-windows-x64.zip
[[ -f "$ZIP" ]] || { echo "FAIL: no $ZIP"; exit 1; }
list=$(unzip -Z1 "$ZIP")
grep -qx 'loopcast/loopcast.exe' <<<"$list" && pass "the zip holds loopcast/loopcast.exe" || fail "no loopcast.exe in the zip"
cmp -s <(unzip -p "$ZIP" loopcast/loopcast.exe) "$PKG/loopcast.exe" \
  && pass "it is the loopcast.exe the Wine tests run" || fail "the zip's loopcast.exe differs from $PKG/loopcast.exe"
readme=$(unzip -p "$ZIP" loopcast/README-windows.txt 2>/dev/null)
if [[ -n "$readme" ]] && ! grep -qv $'\r$' <<<"$readme"; then
  pass "README-windows.txt, CRLF line ends ($(wc -l <<<"$readme") lines)"
else
  fail "README-windows.txt missing or not CRLF"
fi
while read -r name _; do
  [[ -z "$name" || "$name" == \#* ]] && continue
  grep -q "^loopcast/licenses/$name-" <<<"$list" && pass "licence of $name: $(grep "^loopcast/licenses/$name-" <<<"$list" | head -1 | sed 's|.*/||')" \
    || fail "no licence text for $name in the zip"
done <"$SRC/deploy/windows/deps.list"
size=$(stat -c %s "$ZIP")
((size <= 10 * 1048576)) && pass "zip size $size bytes ($(awk -v s="$size" 'BEGIN { printf "%.1f", s / 1048576 }') MiB, at most 10)" \
  || fail "zip size $size bytes > 10 MiB"
echo "$FAILS failure(s)"
[[ $FAILS -eq 0 ]]
