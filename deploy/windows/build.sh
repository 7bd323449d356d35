#!/usr/bin/env bash
# deploy/windows/build.sh — the Windows build, from Debian 12, in one command:
#
#   deploy/windows/build.sh            # deps (cached) + build-win/loopcast.exe + build-win/loopcast-windows-x64.zip
#   deploy/windows/build.sh --check    # also: a program linking every dependency runs under Wine
#   deploy/windows/build.sh --deps-only
#
# 1. Dependencies (deps.list): each is fetched with `apt-get source NAME=VERSION` — Debian's own
#    source package, pinned to the version the Linux build links — unpacked with its Debian patches
#    (dpkg-source -x), patched with ours (patches/NAME/*.patch), and built statically with
#    mingw-w64 into a prefix outside the tree:
#        /var/cache/loopcast-win/deps-KEY       (~/.cache/loopcast-win/ if /var/cache is not writable;
#                                                LC_WIN_CACHE overrides)
#    KEY chains one key per dependency (its deps.list line, recipe and patches, the shared recipe
#    code, the compiler, the key before it), so the second run finds everything built and takes
#    seconds, and a library appended to deps.list builds alone on a copy of the prefix before it. A deb-src entry for the configured Debian suites is
#    added when missing (/etc/apt/sources.list.d/loopcast-deb-src.sources) and `apt-get update`
#    runs once then. Sources and binaries stay in the cache: never in the tree.
# 2. The tree: cmake -S . -B build-win with the toolchain file deploy/windows/mingw-w64-deps.cmake
#    (cmake/mingw-w64-x86_64.cmake + the prefix). It says what it built and what it skipped.
#
# Environment: LC_WIN_CACHE (cache folder), LC_JOBS (make -j, default 2), LC_WIN_BUILD (build
# folder, default build-win). --no-patches builds the dependencies without patches/ (another
# cache key): only for showing what the patches fix (deploy/windows/lws_test.sh).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
TRIPLE=x86_64-w64-mingw32
JOBS=${LC_JOBS:-2}
BUILD=${LC_WIN_BUILD:-$SRC/build-win}
DEPS_LIST=$HERE/deps.list
TOOLCHAIN=$HERE/mingw-w64-deps.cmake

CHECK=0 DEPS_ONLY=0 PATCHES=1
for a in "$@"; do
  case $a in
    --check) CHECK=1 ;;
    --deps-only) DEPS_ONLY=1 ;;
    --no-patches) PATCHES=0 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "build.sh: unknown option '$a' (see --help)" >&2; exit 2 ;;
  esac
done

T0=$(date +%s.%N)
say() { printf '==> %s\n' "$*"; }
die() { printf 'build.sh: error: %s\n' "$*" >&2; exit 1; }
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f s", b - a }'; }
SUDO=""
[[ $(id -u) -eq 0 ]] || SUDO=sudo

# ---- tools -------------------------------------------------------------------------------------
missing=()
for c in $TRIPLE-gcc $TRIPLE-ar cmake make perl patch pkg-config dpkg-source apt-get apt-cache \
         sha256sum flock; do
  command -v "$c" >/dev/null || missing+=("$c")
done
((${#missing[@]} == 0)) || die "missing: ${missing[*]} — apt-get install mingw-w64 cmake make perl patch pkg-config dpkg-dev"
if ((CHECK)) && ! command -v wine >/dev/null; then die "--check needs wine: apt-get install wine wine64"; fi

# ---- the list ----------------------------------------------------------------------------------
NAMES=()
declare -A PKG VER KIND DEV
while read -r name pkg ver kind dev _; do
  [[ -z "$name" || "$name" == \#* ]] && continue
  [[ -n "$dev" ]] || die "deps.list: '$name' needs 5 fields (name source-package version build linux-dev-package)"
  NAMES+=("$name"); PKG[$name]=$pkg VER[$name]=$ver KIND[$name]=$kind DEV[$name]=$dev
done <"$DEPS_LIST"

# ---- cache and key -----------------------------------------------------------------------------
if [[ -n "${LC_WIN_CACHE:-}" ]]; then CACHE=$LC_WIN_CACHE
elif mkdir -p /var/cache/loopcast-win 2>/dev/null && [[ -w /var/cache/loopcast-win ]]; then
  CACHE=/var/cache/loopcast-win
else CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/loopcast-win
fi
mkdir -p "$CACHE/src" "$CACHE/logs"
# One key per dependency, chained: a dependency's key hashes the key of the one before it, its own
# deps.list line, its recipe (its arm of build_one), its patches, what every recipe shares (the
# .pc writer, configure and CMake options) and the compiler. The prefix is named by the last key, so it holds exactly what the list builds; a list
# that only appends (a new library at the end) starts from a copy of the longest prefix already
# built for its first entries and builds only the new ones.
COMMON_RECIPE=$(sed -n '/^# ---- .pc files/,/^build_one() {/p' "$0") # what the recipes share
COMPILER=$($TRIPLE-gcc --version | head -1)
recipe_of() { awk -v pat="    $1)" 'index($0, pat) == 1 { on = 1 } on { print } on && /;;[[:space:]]*$/ { exit }' "$0"; }
declare -A DKEY
prev=""
for n in "${NAMES[@]}"; do
  DKEY[$n]=$({
    echo "$prev"
    awk -v n="$n" '$1 == n' "$DEPS_LIST"
    recipe_of "$n"
    if ((PATCHES)); then
      find "$HERE/patches/$n" -type f -name '*.patch' 2>/dev/null | LC_ALL=C sort | while read -r p; do
        echo "${p#"$HERE"/}"; cat "$p"; done
    else echo no-patches; fi
    echo "$COMMON_RECIPE"
    echo "$COMPILER"
  } | sha256sum | cut -c1-16)
  prev=${DKEY[$n]}
done
KEY=$prev
PREFIX=$CACHE/deps-$KEY
WORK=$CACHE/work-$KEY
exec 8>"$CACHE/lock-$KEY"
flock 8 # two runs never build into one prefix at once
# A new prefix starts as a copy of the longest complete one built for the same first entries
# (complete: it has the stamp of its last dependency). Its .pc, .la and CMake files name their
# prefix: rewritten to the new one.
if [[ ! -d "$PREFIX" ]]; then
  last=$((${#NAMES[@]} - 1))
  for ((i = last - 1; i >= 0; i--)); do
    seed=$CACHE/deps-${DKEY[${NAMES[$i]}]}
    [[ -f "$seed/.built-${NAMES[$i]}" ]] || continue
    say "dependencies: starting from $seed (${NAMES[*]:0:i+1})"
    exec 9>"$CACHE/lock-${DKEY[${NAMES[$i]}]}"
    flock -s 9 # not while a run is still building into it
    rm -rf "$PREFIX.tmp"
    cp -a "$seed" "$PREFIX.tmp"
    exec 9>&-
    grep -rlIF "$seed" "$PREFIX.tmp" | while read -r f; do sed -i "s|$seed|$PREFIX|g" "$f"; done
    mv "$PREFIX.tmp" "$PREFIX"
    break
  done
fi
mkdir -p "$PREFIX/lib/pkgconfig" "$PREFIX/include"
say "dependencies: $PREFIX"

# ---- what the Linux build links ----------------------------------------------------------------
declare -A LINUXV
for n in "${NAMES[@]}"; do
  # a binNMU (+bN) is the same source rebuilt: the version its source package has
  LINUXV[$n]=$(dpkg-query -W -f '${Version}' "${DEV[$n]}" 2>/dev/null || true)
  LINUXV[$n]=${LINUXV[$n]%+b[0-9]*}
  if [[ -n "${LINUXV[$n]}" && "${LINUXV[$n]}" != "${VER[$n]}" ]]; then
    echo "warning: $n: the Linux build links ${DEV[$n]} ${LINUXV[$n]}, deps.list pins ${VER[$n]}" >&2
  fi
done

# ---- deb-src entries and apt-get update (once) --------------------------------------------------
APT_READY=0
ensure_sources() {
  ((APT_READY)) && return 0
  APT_READY=1
  local f=/etc/apt/sources.list.d/loopcast-deb-src.sources added=0
  # every suite that has a deb entry needs a deb-src one (bookworm, -updates and -security)
  local nosrc
  nosrc=$(comm -23 \
    <(apt-get indextargets --format '$(TARGET_OF) $(SUITE)' | sed -n 's/^deb //p' | sort -u) \
    <(apt-get indextargets --format '$(TARGET_OF) $(SUITE)' | sed -n 's/^deb-src //p' | sort -u))
  if [[ ! -f "$f" && -n "$nosrc" ]]; then
    say "adding deb-src entries: $f (the same URIs, suites and components as the deb entries)"
    {
      echo "# added by loopcast deploy/windows/build.sh: Debian source packages for the Windows build"
      # deb822 files: every stanza whose Types has deb, again as deb-src
      for s in /etc/apt/sources.list.d/*.sources; do
        [[ -f "$s" && "$s" != "$f" ]] || continue
        awk 'function flush() { if (st != "" && isdeb) print st "\n"; st = ""; isdeb = 0 }
             /^[[:space:]]*$/ { flush(); next }
             /^Types:/ { if ($0 ~ /[[:space:]]deb([[:space:]]|$)/) isdeb = 1; $0 = "Types: deb-src" }
             /^Enabled:[[:space:]]*no/ { isdeb = 0 }
             /^#/ { next }
             { st = st (st == "" ? "" : "\n") $0 }
             END { flush() }' "$s"
      done
    } >"$CACHE/deb-src.sources"
    # one-line sources.list entries become a second file
    if [[ -f /etc/apt/sources.list ]] && grep -qE '^[[:space:]]*deb[[:space:]]' /etc/apt/sources.list; then
      sed -n 's/^[[:space:]]*deb[[:space:]]/deb-src /p' /etc/apt/sources.list >"$CACHE/deb-src.list"
      $SUDO install -m 644 "$CACHE/deb-src.list" /etc/apt/sources.list.d/loopcast-deb-src.list
    fi
    grep -q '^Types: deb-src' "$CACHE/deb-src.sources" \
      && $SUDO install -m 644 "$CACHE/deb-src.sources" "$f"
    added=1
  fi
  if ((added)) || [[ -z "$(apt-cache showsrc opus 2>/dev/null | head -1)" ]]; then
    say "apt-get update"
    local t; t=$(date +%s.%N)
    $SUDO apt-get update -q >"$CACHE/logs/apt-update.log" 2>&1 \
      || { tail -20 "$CACHE/logs/apt-update.log"; die "apt-get update failed"; }
    echo "    apt-get update: $(since "$t")"
  fi
}

# versions of source package $1 that apt can fetch, in the order to try for wanted version $2:
# the wanted one, then newer ones (nearest first), then older ones (nearest first)
candidates() {
  local pkg=$1 want=$2 v
  local -a all=()
  mapfile -t all < <(apt-cache showsrc "$pkg" 2>/dev/null \
    | awk -v p="$pkg" '/^Package: /{cur=$2} /^Version: /{ if (cur == p) print $2 }' | sort -u)
  printf '%s\n' "${all[@]}" | grep -qxF "$want" && echo "$want"
  for v in "${all[@]}"; do dpkg --compare-versions "$v" gt "$want" && echo "$v"; done \
    | sort -V  # no epochs in this list; sort -V orders Debian revisions well enough here
  for v in "${all[@]}"; do dpkg --compare-versions "$v" lt "$want" && echo "$v"; done | sort -rV
}

# upstream_only DSC: true when everything the .dsc lists but its debian.tar is here and matches
# its SHA-256. A mirror that serves a package's upstream tarball and not Debian's packaging (seen
# for qrencode 4.1.1-1) then still gives a checked build, of the upstream source alone: unpack()
# says so, and the zip takes Debian's copyright record from the installed -dev package instead.
upstream_only() {
  local dsc=$1 dir sum size f rest=0
  [[ -f "$dsc" ]] || return 1
  dir=$(dirname "$dsc")
  while read -r sum size f; do
    case $f in
      *.debian.tar.*) [[ ! -f "$dir/$f" ]] || return 1 ;;
      *) echo "$sum  $dir/$f" | sha256sum -c --status - || return 1; rest=1 ;;
    esac
  done < <(sed -n '/^Checksums-Sha256:/,/^[^ ]/{/^ /p}' "$dsc")
  ((rest))
}

# unpack NAME VERSION DIR LOG: Debian's source package, or its checked upstream tarball alone
unpack() {
  local n=$1 v=$2 d=$3 log=$4 dsc orig
  dsc=$CACHE/src/${PKG[$n]}_${v#*:}.dsc
  if upstream_only "$dsc"; then
    orig=$(ls "$CACHE/src/${PKG[$n]}_$(uv_of "$v")".orig.tar.* | head -1)
    echo "warning: $n: this mirror serves no Debian packaging for $v: building the upstream tarball" \
         "(SHA-256 checked against the .dsc) without Debian's patches" >&2
    mkdir -p "$d" && tar -xf "$orig" -C "$d" --strip-components=1 >>"$log" 2>&1
  else
    dpkg-source --no-check -x "$dsc" "$d" >>"$log" 2>&1
  fi
}
uv_of() { local v=${1#*:}; echo "${v%-*}"; }

# fetch NAME: sets GOTV to the version downloaded into $CACHE/src
fetch() {
  local n=$1 pkg=${PKG[$1]} v dsc
  GOTV=""
  ensure_sources
  while read -r v; do
    [[ -n "$v" ]] || continue
    dsc=$CACHE/src/${pkg}_${v#*:}.dsc
    if [[ ! -f "$dsc" ]]; then
      if ! (cd "$CACHE/src" && apt-get source --download-only -q "$pkg=$v") >>"$CACHE/logs/fetch-$n.log" 2>&1 \
         && ! upstream_only "$dsc"; then
        echo "    $pkg $v: download failed (see $CACHE/logs/fetch-$n.log)"; rm -f "$dsc"; continue
      fi
    fi
    GOTV=$v
    return 0
  done < <(candidates "$pkg" "${VER[$n]}")
  die "$n: no version of Debian source package '$pkg' could be fetched"
}

# ---- .pc files: full static link lines in Libs (cmake's pkg_check_modules uses Libs only) ------
SYSLIBS="-lws2_32 -lgdi32 -lcrypt32"
write_pc() { # file name version cflags libs
  cat >"$PREFIX/lib/pkgconfig/$1.pc" <<EOF
prefix=$PREFIX
libdir=\${prefix}/lib
includedir=\${prefix}/include

Name: $2
Description: $2 for $TRIPLE, static (loopcast deploy/windows/build.sh)
Version: $3
Cflags: $4
Libs: $5
EOF
}

ACONF=(--host="$TRIPLE" --prefix="$PREFIX" --enable-static --disable-shared)
CMAKE_DEP=(-DCMAKE_TOOLCHAIN_FILE="$TOOLCHAIN" -DLC_WIN_DEPS_PREFIX="$PREFIX" -DCMAKE_BUILD_TYPE=Release
           -DCMAKE_INSTALL_PREFIX="$PREFIX" -DBUILD_SHARED_LIBS=OFF)
MINGWLIB=/usr/$TRIPLE/lib

build_one() { # name dir version
  local n=$1 d=$2 v=$3 uv=${3%-*}
  uv=${uv#*:}
  case $n in
    opus)
      # opus adds -D_FORTIFY_SOURCE=2 unless it is defined: mingw would then need libssp
      (cd "$d" && ./configure "${ACONF[@]}" --disable-doc --disable-extra-programs \
         --disable-stack-protector CFLAGS="-g -O2 -D_FORTIFY_SOURCE=0" && make -j"$JOBS" && make install)
      write_pc opus Opus "$uv" "-I\${includedir}/opus" "-L\${libdir} -lopus" ;;
    speexdsp)
      (cd "$d" && ./configure "${ACONF[@]}" --disable-examples && make -j"$JOBS" && make install)
      write_pc speexdsp speexdsp "$uv" "-I\${includedir}" "-L\${libdir} -lspeexdsp" ;;
    cjson)
      cmake -S "$d" -B "$d/_build" "${CMAKE_DEP[@]}" -DENABLE_CJSON_TEST=OFF -DENABLE_CJSON_UTILS=OFF \
        -DENABLE_CUSTOM_COMPILER_FLAGS=OFF -DENABLE_TARGET_EXPORT=OFF
      cmake --build "$d/_build" -j"$JOBS" && cmake --install "$d/_build"
      write_pc libcjson cJSON "$uv" "-I\${includedir} -I\${includedir}/cjson" "-L\${libdir} -lcjson" ;;
    openssl)
      (cd "$d" && ./Configure mingw64 --cross-compile-prefix=$TRIPLE- --prefix="$PREFIX" \
         --libdir=lib no-shared no-tests && make -j"$JOBS" build_libs && make install_dev)
      write_pc libcrypto libcrypto "$uv" "-I\${includedir}" "-L\${libdir} -lcrypto $SYSLIBS"
      write_pc libssl libssl "$uv" "-I\${includedir}" "-L\${libdir} -lssl -lcrypto $SYSLIBS"
      write_pc openssl OpenSSL "$uv" "-I\${includedir}" "-L\${libdir} -lssl -lcrypto $SYSLIBS" ;;
    libwebsockets)
      # OpenSSL as full paths plus the mingw system archives: a bare ws2_32 makes every
      # OpenSSL feature check fail (TESTING-AUDIO.md, "What a probe of the Windows build found")
      cmake -S "$d" -B "$d/_build" "${CMAKE_DEP[@]}" \
        -DCMAKE_C_FLAGS="-Wno-error=deprecated-declarations -fno-strict-aliasing" \
        -DLWS_WITH_SHARED=OFF -DLWS_WITH_STATIC=ON -DLWS_WITHOUT_TESTAPPS=ON \
        -DLWS_WITH_MINIMAL_EXAMPLES=OFF -DLWS_IPV6=ON -DLWS_WITH_ZLIB=OFF \
        -DLWS_WITHOUT_EXTENSIONS=ON -DLWS_WITH_SSL=ON \
        -DLWS_OPENSSL_INCLUDE_DIRS="$PREFIX/include" \
        -DLWS_OPENSSL_LIBRARIES="$PREFIX/lib/libssl.a;$PREFIX/lib/libcrypto.a;$MINGWLIB/libws2_32.a;$MINGWLIB/libcrypt32.a;$MINGWLIB/libgdi32.a"
      cmake --build "$d/_build" -j"$JOBS" && cmake --install "$d/_build"
      rm -f "$PREFIX/lib/pkgconfig/libwebsockets_static.pc"
      write_pc libwebsockets libwebsockets "$uv" "-I\${includedir}" \
        "-L\${libdir} -lwebsockets_static -lssl -lcrypto $SYSLIBS -liphlpapi -lpsapi -luserenv" ;;
    qrencode)
      # the library only: the qrencode tool would need libpng. No pthreads: loopcast.exe links
      # no winpthreads (libwinpthread-1.dll is not part of Windows); qr/qr.c serialises the
      # encodes that libqrencode's pthread mutex would otherwise guard.
      cmake -S "$d" -B "$d/_build" "${CMAKE_DEP[@]}" -DWITH_TOOLS=NO -DWITH_TESTS=NO \
        -DCMAKE_DISABLE_FIND_PACKAGE_Threads=ON
      cmake --build "$d/_build" -j"$JOBS" && cmake --install "$d/_build"
      write_pc libqrencode libqrencode "$uv" "-I\${includedir}" "-L\${libdir} -lqrencode" ;;
    ogg)
      (cd "$d" && ./configure "${ACONF[@]}" && make -j"$JOBS" && make install)
      write_pc ogg ogg "$uv" "-I\${includedir}" "-L\${libdir} -logg" ;;
    shout)
      # --icecast (icecast/). Ogg only (loopcast sends Opus; no Vorbis, Theora or Speex), TLS
      # through the OpenSSL above, no pthreads (as qrencode: each pusher owns its handle, and
      # shout_init runs once behind lc_once)
      (cd "$d" && PKG_CONFIG_LIBDIR="$PREFIX/lib/pkgconfig" ./configure "${ACONF[@]}" \
        --disable-thread --disable-vorbis --disable-theora --disable-speex --disable-examples \
        --disable-tools --with-openssl="$PREFIX" && make -j"$JOBS" && make install)
      write_pc shout shout "$uv" "-I\${includedir}" "-L\${libdir} -lshout -logg -lssl -lcrypto $SYSLIBS" ;;
    *) die "deps.list: no build recipe for '$n' (build system '${KIND[$n]}'): add one to build_one" ;;
  esac
}

declare -A GOT TOOK
for n in "${NAMES[@]}"; do
  stamp=$PREFIX/.built-$n
  if [[ -f "$stamp" ]]; then
    GOT[$n]=$(cat "$stamp") TOOK[$n]=cached
    continue
  fi
  t=$(date +%s.%N)
  fetch "$n"
  v=$GOTV
  [[ "$v" == "${VER[$n]}" ]] \
    || echo "warning: $n: Debian serves no source of ${VER[$n]} (what the Linux build links); using $v" >&2
  say "$n $v: unpack (Debian patches), patch, build"
  d=$WORK/$n
  rm -rf "$d"; mkdir -p "$WORK"
  log=$CACHE/logs/$KEY-$n.log
  : >"$log"
  unpack "$n" "$v" "$d" "$log" || { tail -20 "$log"; die "$n: unpacking the source failed"; }
  if ((PATCHES)); then
    for p in "$HERE/patches/$n"/*.patch; do
      [[ -f "$p" ]] || continue
      echo "    patch: ${p#"$SRC"/}"
      patch -p1 -d "$d" <"$p" >>"$log" 2>&1 || { tail -20 "$log"; die "$n: $p does not apply"; }
    done
  fi
  if ! (build_one "$n" "$d" "$v") >>"$log" 2>&1; then
    tail -40 "$log"; die "$n: build failed (whole log: $log)"
  fi
  rm -rf "$d"
  echo "$v" >"$stamp"
  GOT[$n]=$v TOOK[$n]=$(since "$t")
  echo "    $n $v: $(since "$t")"
done
rm -rf "$WORK"

# ==== end of the dependency recipes: what is above this line is hashed into the cache key ====

# ---- versions ----------------------------------------------------------------------------------
say "Windows dependencies (static, $TRIPLE):"
printf '    %-15s %-22s %-22s %s\n' name windows linux "built in"
for n in "${NAMES[@]}"; do
  mark=""
  [[ -n "${LINUXV[$n]}" && "${GOT[$n]}" != "${LINUXV[$n]}" ]] && mark="   <- differs"
  printf '    %-15s %-22s %-22s %s%s\n' "$n" "${GOT[$n]}" "${LINUXV[$n]:-(not installed)}" "${TOOK[$n]}" "$mark"
done
((PATCHES)) || echo "    (built WITHOUT deploy/windows/patches: --no-patches)"

# ---- link check: every dependency in one program, run under Wine --------------------------------
if ((CHECK)); then
  t=$(date +%s.%N)
  exe=$PREFIX/link_check.exe
  # shellcheck disable=SC2046
  $TRIPLE-gcc -std=c11 -O2 -Wall -Wextra -o "$exe" "$HERE/check/link_check.c" \
    $(PKG_CONFIG_LIBDIR=$PREFIX/lib/pkgconfig PKG_CONFIG_PATH="" pkg-config --cflags --libs \
      opus speexdsp libcjson libwebsockets libqrencode ogg shout) -static \
    || die "link check: does not link"
  export WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
  WINEPREFIX=$CACHE/wineprefix
  export WINEPREFIX
  mkdir -p "$WINEPREFIX"
  if ! out=$(timeout 180 wine "$exe" 2>"$CACHE/logs/link_check.err"); then
    printf '%s\n' "$out"; cat "$CACHE/logs/link_check.err"; die "link check: $exe failed under Wine"
  fi
  printf '%s\n' "$out" | tr -d '\r' | sed 's/^/    /'
  echo "    link check (compile + Wine): $(since "$t")"
fi
((DEPS_ONLY)) && { say "done in $(since "$T0")"; exit 0; }

# ---- the tree ----------------------------------------------------------------------------------
t=$(date +%s.%N)
say "configure $BUILD"
# pkg_check_modules keeps what it found in the CMake cache (pkgcfg_lib_*), whatever the prefix
# passed now: a build folder configured against another prefix (a library added or rebuilt since)
# would go on linking the old one's archives. .lc-deps-prefix says which one it was.
if [[ -f "$BUILD/CMakeCache.txt" && "$(cat "$BUILD/.lc-deps-prefix" 2>/dev/null)" != "$PREFIX" ]]; then
  echo "    configured before against another dependency prefix (or an older build.sh): afresh"
  rm -f "$BUILD/CMakeCache.txt"
fi
mkdir -p "$BUILD" && echo "$PREFIX" >"$BUILD/.lc-deps-prefix"
if ! cmake -S "$SRC" -B "$BUILD" -DCMAKE_TOOLCHAIN_FILE="$TOOLCHAIN" -DLC_WIN_DEPS_PREFIX="$PREFIX" \
     >"$CACHE/logs/configure.log" 2>&1; then
  tail -40 "$CACHE/logs/configure.log"; die "cmake configure of the tree failed"
fi
skipped=$(sed -n 's/^-- loopcast: skipped: //p' "$CACHE/logs/configure.log" | tail -1)
grep -E '^-- loopcast: ' "$CACHE/logs/configure.log" | sed 's/^-- /    /' || true
say "build $BUILD (-j$JOBS)"
if ! cmake --build "$BUILD" -j"$JOBS" >"$CACHE/logs/build.log" 2>&1; then
  grep -E 'error|Error' "$CACHE/logs/build.log" | head -30; tail -20 "$CACHE/logs/build.log"
  die "build of the tree failed (whole log: $CACHE/logs/build.log)"
fi
echo "    configure + build: $(since "$t")"

say "built:"
while read -r f; do printf '    %-50s %s bytes\n' "${f#"$SRC"/}" "$(stat -c %s "$f")"; done \
  < <(find "$BUILD" \( -name '*.exe' -o -name '*.a' \) -not -path '*/CMakeFiles/*' | LC_ALL=C sort)
[[ -n "$skipped" ]] && { say "skipped (by the tree's CMakeLists, not an error):"; tr ';' '\n' <<<"$skipped" | sed 's/^ */    /'; }

server=$(find "$BUILD" -name loopcast.exe -not -path '*/CMakeFiles/*' -not -path "$BUILD/zip/*" | head -1)
[[ -n "$server" ]] || die "the tree built no loopcast.exe (see the skipped list above)"
cp -f "$server" "$BUILD/loopcast.exe"
# What a user must not have to hunt for: every DLL it imports is part of Windows
dlls=$($TRIPLE-objdump -p "$BUILD/loopcast.exe" | sed -n 's/^[[:space:]]*DLL Name: //p' | tr 'A-Z' 'a-z' | sort -u)
echo "    loopcast.exe imports: $(echo $dlls)"
for d in $dlls; do
  case $d in
    kernel32.dll|user32.dll|gdi32.dll|advapi32.dll|shell32.dll|ws2_32.dll|iphlpapi.dll|crypt32.dll|\
    ole32.dll|oleaut32.dll|avrt.dll|psapi.dll|userenv.dll|msvcrt.dll|bcrypt.dll|api-ms-win-*) ;;
    *) die "loopcast.exe needs $d, which Windows does not ship: link it statically" ;;
  esac
done

# ---- the zip: loopcast.exe, README-windows.txt, the licence of everything linked -------------
say "pack $BUILD/loopcast-windows-x64.zip"
Z=$BUILD/zip/loopcast
rm -rf "$BUILD/zip"; mkdir -p "$Z/licenses"
cp "$BUILD/loopcast.exe" "$Z/"
sed 's/$/\r/' "$HERE/README-windows.txt" >"$Z/README-windows.txt" # Notepad-friendly line ends
# The upstream licence text from each source package's tarball (the build deleted the unpacked
# trees; the tarballs stay in the cache), plus Debian's copyright record of the same package
for n in "${NAMES[@]}"; do
  v=${GOT[$n]#*:}; uv=${v%-*}; pkg=${PKG[$n]}
  orig=$(ls "$CACHE/src/${pkg}_${uv}".orig.tar.* 2>/dev/null | head -1)
  deb=$(ls "$CACHE/src/${pkg}_${v}".debian.tar.* 2>/dev/null | head -1 || true) # none: upstream_only()
  [[ -n "$orig" ]] || die "licences: no source tarballs of $pkg $v in $CACHE/src"
  if [[ -z "$deb" ]]; then # upstream_only(): the same record, from the installed -dev package
    [[ "${LINUXV[$n]}" == "${GOT[$n]}" && -f /usr/share/doc/${DEV[$n]}/copyright ]] \
      || die "licences: no Debian copyright record of $pkg $v (no debian.tar, no ${DEV[$n]} ${GOT[$n]})"
  fi
  lic=$(tar -tf "$orig" | awk -F/ 'NF == 2 && $2 ~ /^(COPYING|LICENSE|LICENSE\.txt|LICENSE\.md)$/' | head -1)
  [[ -n "$lic" ]] || die "licences: no COPYING/LICENSE at the top of $orig"
  tar -xOf "$orig" "$lic" | sed 's/$/\r/' >"$Z/licenses/$n-$uv.txt"
  { if [[ -n "$deb" ]]; then tar -xOf "$deb" debian/copyright; else cat "/usr/share/doc/${DEV[$n]}/copyright"; fi; } \
    | sed 's/$/\r/' >"$Z/licenses/$n-$uv.debian-copyright.txt"
done
# the compiler's runtime, linked statically (libgcc, mingw-w64's CRT start-up and winpthreads)
for f in /usr/share/doc/gcc-mingw-w64-base/copyright /usr/share/doc/mingw-w64-common/copyright; do
  [[ -f "$f" ]] || die "licences: $f missing (apt-get install mingw-w64)"
  sed 's/$/\r/' "$f" >"$Z/licenses/$(basename "$(dirname "$f")").txt"
done
rm -f "$BUILD/loopcast-windows-x64.zip"
(cd "$BUILD/zip" && zip -q -9 -r -X "$BUILD/loopcast-windows-x64.zip" loopcast)
size=$(stat -c %s "$BUILD/loopcast-windows-x64.zip")
echo "    $BUILD/loopcast-windows-x64.zip: $size bytes ($(awk -v s="$size" 'BEGIN { printf "%.1f", s / 1048576 }') MiB), $(unzip -Z1 "$BUILD/loopcast-windows-x64.zip" | grep -vc '/$') files"
((size <= 10 * 1048576)) || die "the zip is larger than 10 MiB"
say "done in $(since "$T0")"
