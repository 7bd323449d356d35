#!/usr/bin/env bash
# Installs what is missing, builds every flavour and runs every test. Usage:
#   ./tests/run.sh            the full suite (about 15–20 minutes on 2 cores with CI=true)
#   ./tests/run.sh --quick    normal build + its tests only (no sanitizers, no fuzzing)
#   ./tests/run.sh --long     the full suite, then the long versions: every fuzz target for
#                             LC_FUZZ_SECONDS (default 600 with --long) and tests/soak.sh for
#                             LC_SOAK_MINUTES (default 30)
#   LC_FUZZ_SECONDS=600 ./tests/run.sh   fuzz each target longer
#   LC_CONTAINER_TESTS=0 ./tests/run.sh  skip building and running the OCI image (reported as
#                                        skipped; --quick sets it)
# tests/expected.txt lists every (test, flavour) the run must execute; a listed one that did not
# run, or an unlisted one that did, fails the run. Exit status is non-zero if anything failed; the
# last line is "N passed, N failed", plus ", N skipped" when a test was reported as skipped.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
JOBS=$(nproc 2>/dev/null || echo 2)
QUICK=0
LONG=0
case "${1:-}" in
  --quick) QUICK=1; export LC_CONTAINER_TESTS=${LC_CONTAINER_TESTS:-0} ;;
  --long) LONG=1; export LC_FUZZ_SECONDS=${LC_FUZZ_SECONDS:-600} ;;
  "") ;;
  *) echo "tests/run.sh: unknown option '$1' (use --quick or --long)" >&2; exit 2 ;;
esac

# Each step's heading carries the time since the start: where the suite's minutes go.
log() { printf '\n==== %s ==== (+%ds)\n' "$*" "$SECONDS"; }

log "dependencies"
./deploy/install-deps.sh || { echo "tests/run.sh: installing dependencies failed" >&2; exit 1; }
if [[ ! -d tests/node_modules ]] || [[ tests/package-lock.json -nt tests/node_modules/.package-lock.json ]]; then
  (cd tests && npm ci --no-audit --no-fund) || { echo "tests/run.sh: npm ci in tests/ failed" >&2; exit 1; }
fi

# Outcomes come from ctest's JUnit report (tests/tally.py): one "FLAVOUR TEST passed|failed|skipped"
# line per test in $RESULTS, checked at the end against tests/expected.txt. Steps that are not
# tests (a build, the expected-count check) add to $steps_failed.
RESULTS="$ROOT/build/test-results.txt"
mkdir -p "$ROOT/build" && : >"$RESULTS"
steps_failed=0
failures=()

# build DIR [cmake args...] — configure + build (only $BUILD_TARGET if set); a failure counts as
# one failed step.
build() {
  local dir=$1; shift
  log "build $dir $*"
  if cmake -S "$ROOT" -B "$ROOT/$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >"$ROOT/$dir.configure.log" 2>&1 \
     || { cat "$ROOT/$dir.configure.log"; false; }; then
    if cmake --build "$ROOT/$dir" -j"$JOBS" ${BUILD_TARGET:+--target "$BUILD_TARGET"}; then
      return 0
    fi
  fi
  steps_failed=$((steps_failed + 1)); failures+=("build $dir")
  return 1
}

# suite FLAVOUR DIR [ctest args...] — runs ctest and records each test's outcome.
suite() {
  local flavour=$1 dir=$2; shift 2
  log "tests: $flavour"
  local junit="$ROOT/$dir/ctest-$flavour.xml"
  rm -f "$junit"
  (cd "$ROOT/$dir" && ctest --output-on-failure --timeout 600 --output-junit "$junit" "$@") 2>&1 \
    | tee "$ROOT/$dir/ctest-$flavour.log"
  if ! python3 "$ROOT/tests/tally.py" record "$junit" "$flavour" >>"$RESULTS"; then
    steps_failed=$((steps_failed + 1)); failures+=("$flavour: ctest wrote no report (it crashed?)")
    return
  fi
  local f
  f=$(grep -c "^$flavour .* failed$" "$RESULTS")
  ((f > 0)) && failures+=("$flavour: $f failed: $(grep "^$flavour .* failed$" "$RESULTS" | awk '{print $2}' | tr '\n' ' ')")
}

# Each test runs once in the full suite: the C unit and integration tests in the ASan+UBSan build
# (optimised like the normal one, so their timing checks hold there too), and in the normal build
# what a sanitizer would distort or cannot see into — labels browser (Chromium), slow (crowds,
# the soak), windows (cross-built), web and docs (no C), deploy (manifests, the image, a real
# Prometheus). --quick runs everything in the normal build instead.
NORMAL_ONLY='browser|slow|windows|web|docs|deploy'
export LC_TEST_ROOT="$ROOT"
if build build; then
  export LOOPCAST_BIN="$ROOT/build/server/loopcast"
  if ((QUICK == 1)); then
    suite normal build
  else
    suite normal build -L "$NORMAL_ONLY"
  fi
fi

if ((QUICK == 0)); then
  if build build-asan -DLC_SANITIZE=address; then
    LOOPCAST_BIN="$ROOT/build-asan/server/loopcast" ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
      LSAN_OPTIONS="suppressions=$ROOT/tests/lsan.supp" \
      UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 suite asan build-asan -LE "$NORMAL_ONLY"
  fi
  # TSan: the code that crosses threads (capture taps, the stream ring, the server's wiring).
  if build build-tsan -DLC_SANITIZE=thread; then
    LOOPCAST_BIN="$ROOT/build-tsan/server/loopcast" TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
      suite tsan build-tsan -L threads
  fi
  # libFuzzer: every parser of outside input, a fixed short time each over the checked-in corpus.
  if BUILD_TARGET=lc_fuzzers build build-fuzz -DLC_FUZZ=ON -DCMAKE_C_COMPILER=clang -DLC_FUZZ_SECONDS="${LC_FUZZ_SECONDS:-15}"; then
    # Two at a time: each target is one busy thread, and nothing in them is timing-sensitive.
    suite fuzz build-fuzz -L fuzz -j2
  fi
fi

if ((LONG == 1)) && [[ -x "$ROOT/build/server/loopcast" ]]; then
  log "soak: ${LC_SOAK_MINUTES:-30} minutes"
  if ./tests/soak.sh --minutes "${LC_SOAK_MINUTES:-30}" --bin "$ROOT/build/server/loopcast" \
       --bench "$ROOT/build/tests/bench/loopcast-bench" --out "$ROOT/build/soak"; then
    echo "long soak passed" >>"$RESULTS"
  else
    echo "long soak failed" >>"$RESULTS"; failures+=("soak (${LC_SOAK_MINUTES:-30} min): see build/soak")
  fi
fi

log "summary"
mode=full; ((QUICK == 1)) && mode=quick
if ! python3 "$ROOT/tests/tally.py" check "$ROOT/tests/expected.txt" "$RESULTS" "$mode"; then
  steps_failed=$((steps_failed + 1)); failures+=("the tests that ran differ from tests/expected.txt ($mode; above)")
fi
passed=$(grep -c ' passed$' "$RESULTS")
failed=$(($(grep -c ' failed$' "$RESULTS") + steps_failed))
skipped=$(grep -c ' skipped$' "$RESULTS")
# Tests that exited with ctest's SKIP_RETURN_CODE (77) are listed by name, counted as skipped.
grep ' skipped$' "$RESULTS" | while read -r fl name _; do echo "SKIPPED: $name ($fl)"; done
for f in "${failures[@]}"; do echo "FAILED: $f"; done
if ((skipped > 0)); then
  echo "$passed passed, $failed failed, $skipped skipped"
else
  echo "$passed passed, $failed failed"
fi
((failed == 0))
