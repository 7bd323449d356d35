#!/usr/bin/env bash
# The soak's fast version: tests/soak.sh --minutes 1 (two server lifetimes of 30 s, each with a
# source drop, churn, API changes and a SIGTERM + restart; every check of the long run, see
# tests/soak.sh). The 30-minute run and its figures: docs/reliability.md.
here=$(cd "$(dirname "$0")/.." && pwd)
: "${LOOPCAST_BIN:?LOOPCAST_BIN must name the loopcast binary}"
LC_BENCH=${LC_BENCH:-$(dirname "$LOOPCAST_BIN")/../tests/bench/loopcast-bench}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$here/soak.sh" --minutes 1 --bin "$LOOPCAST_BIN" --bench "$LC_BENCH" --out "$out"
rc=$?
if ((rc != 0)); then
  echo "FAIL: tests/soak.sh --minutes 1 exited $rc; server logs:" >&2
  tail -n 30 "$out"/server-*.log >&2
  exit 1
fi
echo "PASS: soak --minutes 1"
