#!/usr/bin/env bash
# Installs what is missing, builds, and runs loopcast on the default source (`auto`: the sound
# server's monitor of the default output if there is one, else ALSA "default", else a test tone).
# Any arguments are passed to loopcast, e.g.  ./deploy/run.sh --source tone:440 --port 9000
set -euo pipefail
cd "$(dirname "$0")/.."
./deploy/install-deps.sh --build-only
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc 2>/dev/null || echo 2)" --target loopcast
exec ./build/server/loopcast "$@"
