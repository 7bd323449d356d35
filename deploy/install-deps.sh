#!/usr/bin/env bash
# Installs every Debian package loopcast's build, run and tests need — only those missing, so a
# second run does nothing and takes about a second. Usage: deploy/install-deps.sh [--build-only]
#   --build-only   just what compiling the server needs (the container build uses this)
set -euo pipefail

BUILD_PKGS=(
  build-essential cmake pkg-config git ca-certificates
  libwebsockets-dev libopus-dev libspeexdsp-dev libcjson-dev libasound2-dev libssl-dev
  libqrencode-dev                   # the LAN URLs' QR codes (console, /admin)
  libogg-dev                        # Ogg Opus framing: /stream.ogg, Icecast (oggmux/)
  libavahi-client-dev               # mDNS/DNS-SD advertising through avahi-daemon (mdns/)
  libev-dev libwebsockets-evlib-ev  # each service thread's loop on epoll; lws's libev glue (server/)
  libshout3-dev                     # --icecast: Icecast's own source-client library (icecast/)
  libpulse-dev                      # app:NAME: one application's sound through libpulse (capture/)
)
TEST_PKGS=(
  clang libclang-rt-14-dev          # libFuzzer, ASan/UBSan/TSan runtimes
  pulseaudio pulseaudio-utils libasound2-plugins alsa-utils sox   # real capture without a card
  chromium                          # browser tests (driven by npm playwright-core)
  curl procps psmisc iproute2 python3   # python3: raw-socket clients in bad_input_test, soak helpers
  podman runc debootstrap           # tests/deploy/container_test.sh: build and run the OCI image
  docker-compose podman-compose     # validate deploy/compose.yaml offline; run it with podman
  prometheus                        # promtool check metrics + a real scraper (tests/deploy)
  mingw-w64 wine wine64             # tests/windows: cross build, WASAPI backend under Wine
  nginx-light caddy openssl         # tests/integration/proxy_test: the page behind a TLS proxy
  libnss3-tools                     # certutil: tls/proxy tests trust their CA in Chromium
  zbar-tools                        # zbarimg: the QR tests decode what the server drew
  ffmpeg                            # ffprobe/ffmpeg: what media players make of /stream.ogg
  icecast2                          # integration_icecast: a master loopcast pushes to, a relay
  janus                             # browser_player's janus.test: --rtp into a streaming mountpoint
  avahi-daemon avahi-utils dbus-daemon util-linux   # integration_mdns: its own bus + daemon
                                    # (unshare), read back with avahi-browse/avahi-publish
)
# Tools the tests need as commands: the package is installed only when the command is missing,
# because another package may already provide it (a kubectl from elsewhere owns /usr/bin/kubectl,
# and Debian's kubernetes-client would then fail to unpack over it).
TEST_CMDS=(
  kubectl:kubernetes-client         # `kubectl kustomize` (tests/deploy/validate_test.sh)
  systemd-analyze:systemd           # `systemd-analyze verify` of deploy/loopcast.service
)

pkgs=("${BUILD_PKGS[@]}")
[[ "${1:-}" == "--build-only" ]] || pkgs+=("${TEST_PKGS[@]}")

missing=()
for p in "${pkgs[@]}"; do
  [[ "$p" == \#* ]] && continue
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [[ "${1:-}" != "--build-only" ]]; then
  for cp in "${TEST_CMDS[@]}"; do
    command -v "${cp%%:*}" >/dev/null || missing+=("${cp#*:}")
  done
fi

# Node.js: the web assets' npm packages are bundled at build time. A machine may already have a
# Node.js of its own (with its own npm, which Debian's npm package conflicts with): use that.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  missing+=(nodejs npm)
fi

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#pkgs[@]} packages present"
  exit 0
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "install-deps: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  SUDO=sudo
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# Test servers (nginx, prometheus, caddy, icecast2, janus) are started by the tests that need them, on free
# loopback ports: keep their packages from starting system-wide copies on a non-systemd machine.
policy=/usr/sbin/policy-rc.d
added_policy=0
if [[ ! -e $policy ]]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null && $SUDO chmod 755 "$policy" && added_policy=1
fi
rc=0
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" || rc=$?
if ((added_policy)); then $SUDO rm -f "$policy"; fi
exit $rc
