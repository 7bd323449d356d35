# tests/windows/wine_lib.sh — what the Wine tests share (source it after setting FAILS=0):
#   wine_require TOOL...     every tool present, or FAIL naming deploy/install-deps.sh and exit 1
#   wine_setup               WORK (temp folder, removed on exit unless LC_KEEP_WORK is set), a
#                            private HOME/XDG_RUNTIME_DIR, the Wine prefix (cached under a lock),
#                            Wine's null graphics driver (headless windows: see below)
#   wine_pulse_start PA_FILE a private PulseAudio from that default.pa (PA_PID); wine_pulse_stop
#   wine_server_start        one wineserver that this test owns (WS_PID), ended on exit
#   wine_on_exit CMD         one more cleanup command (run before the wineserver is ended)
#   pass/fail/near/ge/get    results and number checks (get reads KEY=VALUE lines of a .exe: CRLF)
# Recipe: ../shared/TESTING-AUDIO.md "WASAPI (Windows) from Linux". Wine's WASAPI endpoints are
# the sinks and sources of the PulseAudio that XDG_RUNTIME_DIR leads to.

fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
pass() { echo "ok:   $*"; }
near() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { exit !(a != "" && a - b <= t && b - a <= t) }'; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "" && a + 0 >= b + 0) }'; }
get() { sed -n "s/^$1=//p" "$2" | tr -d '\r' | head -1; }

wine_require() {
  local missing=() c
  for c in "$@"; do command -v "$c" >/dev/null || missing+=("$c"); done
  if ((${#missing[@]})); then
    echo "FAIL: missing: ${missing[*]} — run deploy/install-deps.sh"
    exit 1
  fi
}

PA_PID="" WS_PID="" WINE_ON_EXIT=()
wine_on_exit() { WINE_ON_EXIT+=("$1"); }
wine_cleanup() {
  local c
  for c in "${WINE_ON_EXIT[@]}"; do eval "$c" 2>/dev/null; done
  [[ -n "$PA_PID" ]] && kill "$PA_PID" 2>/dev/null
  if [[ -n "$WS_PID" ]]; then
    wineserver -k 2>/dev/null # this prefix's server only: ends its wine processes too
    for _ in $(seq 50); do kill -0 "$WS_PID" 2>/dev/null || break; sleep 0.1; done
    kill "$WS_PID" 2>/dev/null
  fi
  wait 2>/dev/null
  [[ -n "${LC_KEEP_WORK:-}" ]] || rm -rf "$WORK"
}

wine_setup() {
  WORK=$(mktemp -d /tmp/lc-wine-XXXXXX)
  export XDG_RUNTIME_DIR=$WORK/run HOME=$WORK/home
  unset PULSE_SERVER PULSE_SOURCE PULSE_SINK DISPLAY WAYLAND_DISPLAY
  mkdir -p "$XDG_RUNTIME_DIR" "$HOME"
  chmod 700 "$XDG_RUNTIME_DIR"
  export WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml=" # no Mono/Gecko install prompts
  trap wine_cleanup EXIT
  # A cached prefix (first init ~8 s, 700 MB) when /var/cache is writable, used under a lock so
  # two runs never share it at once; else a fresh one in WORK.
  local cache=/var/cache/loopcast-test
  if mkdir -p "$cache" 2>/dev/null && [[ -w "$cache" ]]; then
    export WINEPREFIX=$cache/wineprefix
    exec 9>"$cache/wineprefix.lock"
    flock 9
  else
    export WINEPREFIX=$WORK/wineprefix
  fi
  mkdir -p "$WINEPREFIX"
}

# Headless Wine has no display driver, and without one CreateWindowEx fails: loopcast.exe's
# hidden window (how Windows tells a program about logoff and shutdown) would not exist. Wine's
# "null" graphics driver gives windows without a screen. Needs the wineserver running.
wine_null_graphics() {
  timeout 60 wine reg add 'HKCU\Software\Wine\Drivers' /v Graphics /d null /f >/dev/null 2>&1
}

wine_pulse_start() {
  pulseaudio -n -F "$1" --daemonize=no --exit-idle-time=-1 --use-pid-file=no \
    --log-target=stderr 2>>"$WORK/pulse.log" &
  PA_PID=$!
  for _ in $(seq 100); do pactl info >/dev/null 2>&1 && break; sleep 0.1; done
  pactl info >/dev/null 2>&1 || { echo "FAIL: pulseaudio did not come up"; cat "$WORK/pulse.log"; exit 1; }
}
wine_pulse_stop() { kill "$PA_PID" 2>/dev/null; wait "$PA_PID" 2>/dev/null; PA_PID=""; }

wine_server_start() {
  wineserver -f -p >"$WORK/wineserver.log" 2>&1 &
  WS_PID=$!
  wine_null_graphics
}
