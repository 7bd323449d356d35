#!/usr/bin/env bash
# tests/deploy/container_test.sh — builds deploy/Dockerfile with podman and runs the image the way
# docs/deploy.md tells users to. Slow the first time (debootstrap ~1 min + image build ~3 min on
# 2 cores); later runs reuse the kept layer cache (podman_lib.sh) and rebuild what changed. It always runs, except that LC_CONTAINER_TESTS=0 (what `tests/run.sh --quick` sets)
# skips it with ctest's skip code 77, so the run reports it as skipped, never as passed.
#
# What it proves, in order:
#   - the image builds from a bare Debian base with no registry (debootstrap minbase, imported
#     locally as debian:bookworm and debian:bookworm-slim; --pull=never), and its size (printed;
#     fails above LC_IMAGE_MAX_MB, default 150);
#   - it runs as uid 10001 in group audio, answers /healthz on a published loopback port, its own
#     HEALTHCHECK passes (podman healthcheck run), /readyz turns 200 with a tone source;
#   - a real WebSocket listener through the published port gets the audio (loopcast-bench
#     listeners: decodes with libopus, hears 440 Hz, no drops; Node ws if the bench isn't built);
#   - /metrics passes `promtool check metrics`;
#   - `podman stop` (SIGTERM) ends it with exit code 0, well inside the grace period;
#   - the named state volume is writable by the image user and what is in it survives a new
#     container on the same volume — started the Kubernetes way: read-only root, tmpfs /tmp,
#     all capabilities dropped, no-new-privileges;
#   - capture variants of docs/deploy.md: pipe: from a FIFO in a bind-mounted host directory
#     (paced tone -> 1000 Hz heard), and loopback through a host PulseAudio socket bind-mounted
#     at /run/pulse/native (a private headless PulseAudio; a tone played into its null sink ->
#     660 Hz heard), when pulseaudio is installed.
# Every container, volume and image it made is removed on exit, then its private podman storage.
set -uo pipefail
if [[ "${LC_CONTAINER_TESTS:-1}" == 0 ]]; then
  echo "SKIP: container test (LC_CONTAINER_TESTS=0); reported as skipped (exit 77)"
  exit 77
fi
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export LC_TEST_ROOT=${LC_TEST_ROOT:-$(cd "$HERE/../.." && pwd)}
# shellcheck source=../lib.sh
source "$HERE/../lib.sh"
# shellcheck source=podman_lib.sh
source "$HERE/podman_lib.sh"

MAX_MB=${LC_IMAGE_MAX_MB:-150}
# podman drives HEALTHCHECK intervals with systemd timers, and systemd is not PID 1 here: podman
# logs an error about that for every run/stop (harmless: the check runs on demand with `podman
# healthcheck run`). Its stderr is kept in a file and shown only when the command fails.
prun() {
  podman run -d "$@" >/dev/null 2>"$LC_TMP/podman-run.err" && return 0
  cat "$LC_TMP/podman-run.err" >&2
  return 1
}
RUN=(prun)
IMAGE=localhost/loopcast-test:$$
VOL=lc-test-state-$$
passed=0
ok() { echo "PASS: $*"; passed=$((passed + 1)); }
t0=$SECONDS
phase() { printf '[container_test +%4ds] %s\n' $((SECONDS - t0)) "$*"; }

# listen PORT HZ SECONDS: a real WebSocket client through the published port hears HZ.
listen() {
  local port=$1 hz=$2 secs=$3 out
  if [[ -x "$LC_BENCH" ]]; then
    out=$("$LC_BENCH" listeners --port "$port" -n 1 --decode 1 --expect-hz "$hz" --seconds "$secs" \
          --no-drops 2>&1) || { echo "$out" >&2; return 1; }
    echo "$out" | tail -3
  else
    [[ -d "$LC_ROOT/tests/node_modules/ws" ]] || { echo "no loopcast-bench and no tests/node_modules/ws" >&2; return 1; }
    node "$HERE/ws_listen.mjs" "ws://127.0.0.1:$port/stream" 50 "$((secs + 5))"
  fi
}

# ---------------------------------------------------------------------------------------- build
phase "podman setup, base images"
lcp_setup
lcp_base_images
ok "base images debian:bookworm and debian:bookworm-slim imported from $LC_ROOTFS_CACHE ($(lcp_image_mb debian:bookworm-slim) MB)"
phase "image build"
lcp_build "$IMAGE"
mb=$(lcp_image_mb "$IMAGE")
echo "IMAGE SIZE: $IMAGE is $mb MB (base debian:bookworm-slim $(lcp_image_mb debian:bookworm-slim) MB)"
((mb <= MAX_MB)) || lc_fail "image is $mb MB, over the $MAX_MB MB budget"
ok "image built in $((SECONDS - t0)) s, $mb MB <= $MAX_MB MB"
hc=$(podman image inspect --format '{{json .Config.Healthcheck}}' "$IMAGE" 2>/dev/null)
[[ "$hc" == *loopcast-healthcheck* ]] || lc_fail "the image has no HEALTHCHECK (built without --format docker?): $hc"
[[ "$(podman image inspect --format '{{.Config.User}}' "$IMAGE")" == 10001 ]] || lc_fail "image user is not 10001"

# ------------------------------------------------------------------------------------ first run
phase "run with a tone, named volume"
port=$(lc_free_port) || lc_fail "no free port"
podman volume create "$VOL" >/dev/null || lc_fail "podman volume create"
lcp_track_volume "$VOL"
c1=lc-test-$$-a
lcp_track_container "$c1"
"${RUN[@]}" --name "$c1" -p "127.0.0.1:$port:8080" -e LOOPCAST_SOURCE=tone:440 \
  -v "$VOL:/var/lib/loopcast" "$IMAGE" || lc_fail "podman run"
lcp_wait_http "$c1" "http://127.0.0.1:$port/healthz" 30 || lc_fail "/healthz did not answer through the published port"
ok "/healthz answers on 127.0.0.1:$port"

ident=$(podman exec "$c1" id) || lc_fail "podman exec id"
[[ "$ident" == "uid=10001(loopcast) gid=10001(loopcast) groups=10001(loopcast),29(audio)" ]] \
  || lc_fail "runs as: $ident (want uid 10001, group audio)"
ok "runs as $ident"

podman healthcheck run "$c1" >/dev/null 2>&1 || lc_fail "the image's HEALTHCHECK fails in a healthy container"
ok "HEALTHCHECK (loopcast-healthcheck /healthz) passes"

lc_wait_http "http://127.0.0.1:$port/readyz" 15 || { curl -s "http://127.0.0.1:$port/readyz" >&2; lc_fail "/readyz not 200"; }
podman exec "$c1" /usr/local/bin/loopcast-healthcheck /readyz || lc_fail "loopcast-healthcheck /readyz"
ok "/readyz 200 with the tone source"

phase "WebSocket listener"
out=$(listen "$port" 440 3) || lc_fail "no audio reached a WebSocket listener through the container port"
ok "a WebSocket listener through the container hears 440 Hz: $(echo "$out" | tr '\n' ' ' | cut -c1-200)"

if command -v promtool >/dev/null; then
  curl -fsS "http://127.0.0.1:$port/metrics" >"$LC_TMP/metrics.txt" || lc_fail "/metrics"
  promtool check metrics <"$LC_TMP/metrics.txt" >"$LC_TMP/promtool.out" 2>&1 \
    || { cat "$LC_TMP/promtool.out" >&2; lc_fail "promtool check metrics"; }
  ok "promtool check metrics: $(grep -c '^# TYPE' "$LC_TMP/metrics.txt") metric families"
else
  lc_fail "promtool not installed (Debian package prometheus; deploy/install-deps.sh installs it)"
fi

# The volume: the image user can write it; snapshot what the server itself wrote.
podman exec "$c1" sh -c 'echo "probe $$" > /var/lib/loopcast/.container-test-probe' \
  || lc_fail "uid 10001 cannot write the state volume"
snapshot() { podman exec "$1" sh -c 'cd /var/lib/loopcast && for f in api-token sessions.json .container-test-probe; do [ -f "$f" ] && { printf "%s %s " "$f" "$(stat -c %a "$f")"; md5sum < "$f"; }; done'; }
before=$(snapshot "$c1")
server_files=$(podman exec "$c1" sh -c 'cd /var/lib/loopcast && ls -A | grep -v "^.container-test-probe$"' || true)

# One writer per state volume (why the k8s Deployment is Recreate): a second server on the same
# volume must refuse to start while the first holds STATE_DIR/lock.
if [[ -n "$server_files" ]] && grep -qx lock <<<"$server_files"; then
  c1b=lc-test-$$-second-writer
  lcp_track_container "$c1b"
  podman run --name "$c1b" --health-interval=disable -e LOOPCAST_SOURCE=tone:440 \
    -v "$VOL:/var/lib/loopcast" "$IMAGE" >"$LC_TMP/second.log" 2>&1
  rc=$?
  ((rc != 0)) && grep -q 'in use by another loopcast' "$LC_TMP/second.log" \
    || { cat "$LC_TMP/second.log" >&2; lc_fail "a second server on the same volume started (rc $rc)"; }
  ok "a second server on the same state volume refuses to start (exit $rc: state directory in use)"
fi

phase "graceful stop"
ts=$SECONDS
podman stop -t 10 "$c1" >/dev/null 2>&1 || lc_fail "podman stop"
took=$((SECONDS - ts))
code=$(podman inspect --format '{{.State.ExitCode}}' "$c1")
[[ "$code" == 0 ]] || { podman logs "$c1" 2>&1 | tail -20 >&2; lc_fail "exit code after SIGTERM is $code (want 0)"; }
((took < 8)) || lc_fail "stop took $took s: SIGTERM was not honoured promptly"
# The whole log first, then grep: `podman logs | grep -q` under pipefail failed one run in two.
# grep -q exits at its first match, podman's next write to the closed pipe kills it with
# SIGPIPE, and pipefail turns that into "no SIGTERM line" (docs/testing.md, "Flakes found").
podman logs "$c1" >"$LC_TMP/c1.log" 2>&1 || lc_fail "podman logs"
grep -q 'SIGTERM: shutting down' "$LC_TMP/c1.log" \
  || { tail -20 "$LC_TMP/c1.log" >&2; lc_fail "the log does not mention SIGTERM"; }
ok "podman stop: SIGTERM, exit code 0 after ${took} s"
# The image has no avahi-daemon and no D-Bus: mDNS says so once and the server serves on.
[[ $(grep -c 'mDNS: avahi-daemon not reachable (.*); not advertising' "$LC_TMP/c1.log") -eq 1 ]] \
  || { grep -i mdns "$LC_TMP/c1.log" >&2; lc_fail "mDNS without avahi-daemon: want one 'not reachable' line"; }
ok "no avahi-daemon in the image: one 'mDNS: avahi-daemon not reachable' line, served on"

# ------------------------------------------- second run: same volume, Kubernetes-style hardening
phase "second container on the same volume, read-only root"
c2=lc-test-$$-b
lcp_track_container "$c2"
"${RUN[@]}" --name "$c2" -p "127.0.0.1:$port:8080" -e LOOPCAST_SOURCE=tone:440 \
  -v "$VOL:/var/lib/loopcast" --read-only --tmpfs /tmp --cap-drop=ALL \
  --security-opt no-new-privileges "$IMAGE" || lc_fail "podman run (second)"
lcp_wait_http "$c2" "http://127.0.0.1:$port/readyz" 30 || lc_fail "second container not ready"
after=$(snapshot "$c2")
[[ -n "$before" && "$before" == "$after" ]] || lc_fail "state changed across the restart: before [$before] after [$after]"
if [[ -n "$server_files" ]]; then
  ok "state survives a new container on the volume: $(echo "$after" | tr '\n' ';')"
  if grep -q '^api-token ' <<<"$after"; then
    grep -q '^api-token 600 ' <<<"$after" || lc_fail "api-token is not mode 0600: $after"
    ok "api-token kept, mode 0600, same content"
  fi
else
  ok "volume persists across containers (the server wrote nothing into its state dir yet: only the test's probe file was compared)"
fi
ok "runs with a read-only root, tmpfs /tmp, no capabilities, no-new-privileges"
podman stop -t 10 "$c2" >/dev/null 2>&1
[[ "$(podman inspect --format '{{.State.ExitCode}}' "$c2")" == 0 ]] || lc_fail "second container exit code not 0"

# ------------------------------------------------------------------ compose: deploy/compose.yaml
command -v podman-compose >/dev/null \
  || lc_fail "podman-compose not installed (deploy/install-deps.sh installs it)"
phase "podman-compose up deploy/compose.yaml"
proj=lc-test-$$
cc=${proj}_loopcast_1
lcp_track_container "$cc"
lcp_track_volume "${proj}_loopcast-state"
pc() { (cd "$LC_ROOT/deploy" && LOOPCAST_IMAGE=$IMAGE LOOPCAST_PUBLISH=127.0.0.1:$port \
         podman-compose -p "$proj" -f compose.yaml "$@") >>"$LC_TMP/compose.log" 2>&1; }
# The service is named: podman-compose 1.0.3 (Debian 12) ignores `profiles` and would start
# loopcast-pulse too. The image exists, so it is not rebuilt.
pc up -d loopcast || { tail -20 "$LC_TMP/compose.log" >&2; lc_fail "podman-compose up"; }
lcp_wait_http "$cc" "http://127.0.0.1:$port/readyz" 30 || {
  podman inspect --format 'state={{.State.Status}} error={{.State.Error}}' "$cc" >&2
  podman logs "$cc" 2>&1 | tail -20 >&2; tail -20 "$LC_TMP/compose.log" >&2
  lc_fail "compose service not ready"; }
podman healthcheck run "$cc" >/dev/null 2>&1 || lc_fail "compose healthcheck fails"
[[ "$(podman inspect --format '{{.HostConfig.ReadonlyRootfs}}' "$cc")" == true ]] || lc_fail "compose: root not read-only"
out=$(listen "$port" 440 2) || lc_fail "compose: no audio"
pc stop -t 10 loopcast
[[ "$(podman inspect --format '{{.State.ExitCode}}' "$cc")" == 0 ]] || lc_fail "compose: exit code not 0 after stop"
pc down -v
ok "podman-compose runs deploy/compose.yaml: ready, healthcheck, read-only root, audio, stop -> exit 0"

# ------------------------------------------------------------------------ capture: pipe from FIFO
phase "pipe: source from a FIFO in a bind-mounted directory"
fifo_dir=$LC_TMP/fifo
mkdir -p "$fifo_dir" && mkfifo "$fifo_dir/fifo" && chown -R 10001:10001 "$fifo_dir" \
  || lc_fail "FIFO setup"
c3=lc-test-$$-pipe
lcp_track_container "$c3"
"${RUN[@]}" --name "$c3" -p "127.0.0.1:$port:8080" -v "$fifo_dir:/run/loopcast" \
  -e 'LOOPCAST_SOURCE=pipe:/run/loopcast/fifo?format=s16le&rate=48000&channels=2' "$IMAGE" \
  || lc_fail "podman run (pipe)"
lcp_wait_http "$c3" "http://127.0.0.1:$port/healthz" 30 || lc_fail "pipe container: /healthz"
node "$LC_ROOT/tests/integration/pace_tone.mjs" "$fifo_dir/fifo" 1000 20 &
writer=$!
LC_PIDS+=("$writer")
lcp_wait_http "$c3" "http://127.0.0.1:$port/readyz" 15 || lc_fail "pipe container not ready with a writer"
out=$(listen "$port" 1000 3) || lc_fail "pipe: no 1000 Hz at the listener"
ok "pipe: a host process writing into the shared FIFO is heard (1000 Hz)"
kill "$writer" 2>/dev/null
podman stop -t 10 "$c3" >/dev/null 2>&1

# ------------------------------------------------------------ capture: the host's PulseAudio socket
for t in pulseaudio paplay sox; do
  command -v "$t" >/dev/null || lc_fail "$t not installed (deploy/install-deps.sh installs it)"
done
phase "loopback through a host PulseAudio socket"
prt=$LC_TMP/pulse-run
mkdir -p "$prt" "$LC_TMP/pulse-home" && chmod 700 "$prt"
cat >"$LC_TMP/default.pa" <<'EOF'
load-module module-native-protocol-unix auth-anonymous=1
load-module module-null-sink sink_name=testsink rate=48000 channels=2
set-default-sink testsink
set-default-source testsink.monitor
EOF
XDG_RUNTIME_DIR=$prt HOME=$LC_TMP/pulse-home pulseaudio -n -F "$LC_TMP/default.pa" --daemonize=no \
  --exit-idle-time=-1 --use-pid-file=no --log-target=stderr >"$LC_TMP/pulse.log" 2>&1 &
pa=$!
LC_PIDS+=("$pa")
for _ in $(seq 50); do [[ -S "$prt/pulse/native" ]] && break; sleep 0.1; done
[[ -S "$prt/pulse/native" ]] || { cat "$LC_TMP/pulse.log" >&2; lc_fail "private PulseAudio did not start"; }
sox -n -r 48000 -c 2 -b 16 "$LC_TMP/tone660.wav" synth 60 sine 660 vol 0.5 || lc_fail "sox"
XDG_RUNTIME_DIR=$prt HOME=$LC_TMP/pulse-home paplay "$LC_TMP/tone660.wav" 2>"$LC_TMP/paplay.log" &
player=$!
LC_PIDS+=("$player")
c4=lc-test-$$-pulse
lcp_track_container "$c4"
"${RUN[@]}" --name "$c4" -p "127.0.0.1:$port:8080" \
  -v "$prt/pulse/native:/run/pulse/native" -e PULSE_SERVER=unix:/run/pulse/native \
  -e LOOPCAST_SOURCE=loopback "$IMAGE" || lc_fail "podman run (pulse)"
lcp_wait_http "$c4" "http://127.0.0.1:$port/readyz" 30 \
  || { curl -s "http://127.0.0.1:$port/readyz" >&2; lc_fail "pulse container not ready"; }
out=$(listen "$port" 660 3) || { podman logs "$c4" 2>&1 | tail >&2; lc_fail "loopback: 660 Hz not heard"; }
ok "loopback in the container captures the host sound server's default sink monitor (660 Hz)"
podman stop -t 10 "$c4" >/dev/null 2>&1
[[ "$(podman inspect --format '{{.State.ExitCode}}' "$c4")" == 0 ]] || lc_fail "pulse container exit code not 0"
kill "$player" 2>/dev/null
wait "$player" 2>/dev/null
kill "$pa" 2>/dev/null
wait "$pa" 2>/dev/null

phase "done"
echo "IMAGE SIZE: $mb MB"
echo "$passed passed, 0 failed"
