#!/usr/bin/env bash
# fault_disk_test.sh — the state directory's disk fills up, then turns read-only, under a running
# loopcast with listeners playing. Real kernel errors, no shim: the test re-runs itself in a
# private mount namespace (unshare -m; root) and puts the state dir on a 256 KiB tmpfs, filled
# with dd (ENOSPC) and remounted read-only (EROFS). The flock'd STATE/lock is a bind mount of a
# file elsewhere, so the tmpfs has no open writer and `remount,ro` is allowed while loopcast runs.
# Asserted, from what is observed:
#   - PATCHes are still answered 200 and two listeners keep decoding the tone with no gap over
#     400 ms and no lost packet through both faults (a stuck store would cost seconds);
#   - the failure shows on GET /api/v1/status (store.ok false, store.error naming ENOSPC/EROFS)
#     and on /metrics (loopcast_store_ok 0, loopcast_store_write_failures_total grows: retried
#     about every second);
#   - once the fault is cleared the pending change is written without any request (retry);
#   - sessions.json, read every 5 ms throughout, is always a complete store (old or new), and no
#     sessions.json.tmp-* temp file is left behind after a failed write;
#   - SIGTERM while the disk is full exits within 2 s, logs the failed final write, leaves the
#     last good file, which the next start loads (no .corrupt-* set aside);
#   - the later steps of a write failing — fsync (EIO), close (ENOSPC), rename (EIO), injected by
#     the LD_PRELOAD shim tests/fault/lc_fault_io.so — give the same: old file intact, temp file
#     removed, error on /status, retried and written once cleared.
if [[ -z ${LC_FAULT_NS:-} ]]; then
  unshare -m --propagation private true 2>/dev/null ||
    { echo "FAIL: unshare -m does not work here (the test needs root for a private tmpfs)" >&2; exit 1; }
  exec unshare -m --propagation private env LC_FAULT_NS=1 bash "$0" "$@"
fi
source "$(dirname "$0")/../lib.sh"
DIR=$(cd "$(dirname "$0")" && pwd)
SHIM=${LC_FAULT_SHIM:-$(dirname "$LC_BENCH")/../fault/lc_fault_io.so}
[[ -f $SHIM ]] || lc_fail "no fault shim at $SHIM (build the lc_fault_io target)"
disk=$LC_TMP/disk
state=$disk/state
port=$(lc_free_port)
base="http://127.0.0.1:$port/api/v1"
TOKEN=fault-disk-test-token
AUTH="Authorization: Bearer $TOKEN"
JSON="Content-Type: application/json"
ID=d15c0000-0000-4000-8000-000000000001
WATCH_PID=""
finish() {
  local p
  for p in "${LC_PIDS[@]:-}" $WATCH_PID; do [[ -n $p ]] && kill -KILL "$p" 2>/dev/null; done
  wait 2>/dev/null
  umount -l "$state/lock" 2>/dev/null
  umount -l "$disk" 2>/dev/null
  lc_cleanup
}
trap finish EXIT

mkdir -p "$disk" "$LC_TMP/lockfs"
mount -t tmpfs -o size=256k,mode=0700 lcfault "$disk" || lc_fail "cannot mount a tmpfs"
mkdir -p "$state"
: >"$state/lock"
: >"$LC_TMP/lockfs/lock"
mount --bind "$LC_TMP/lockfs/lock" "$state/lock" || lc_fail "cannot bind-mount the lock file"

start() { lc_start_server "$LC_TMP/s$1.log" --source tone:440 --bind 127.0.0.1 --port "$port" --state-dir "$state" --api-token "$TOKEN"; }
# store: "ok writes failures error" from GET /status
store() {
  curl -sS --max-time 2 -H "$AUTH" "$base/status" | python3 -c \
    'import json,sys; s=json.load(sys.stdin)["store"]; print(s["ok"], s["writes"], s["write_failures"], s["error"])'
}
metric() { curl -sS --max-time 2 "http://127.0.0.1:$port/metrics" | awk -v n="$1" '$1 == n { print $2 }'; }
on_disk() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print([s["name"] for s in d["sessions"] if s["id"]==sys.argv[2]][0])' "$state/sessions.json" "$ID"; }
patch() {
  local code
  code=$(curl -sS -o "$LC_TMP/pb" -w '%{http_code}' --max-time 2 -X PATCH -H "$AUTH" -H "$JSON" -d "$1" "$base/sessions/$ID")
  [[ $code == 200 ]] || lc_fail "PATCH $1 answered $code $(cat "$LC_TMP/pb")"
}
# until CMD succeeds, at most SECS seconds
until_ok() {
  local secs=$1 i; shift
  for ((i = 0; i < secs * 20; i++)); do "$@" && return 0; sleep 0.05; done
  return 1
}
no_tmp() {
  local left
  left=$(ls -A "$state" | grep -v -x -e sessions.json -e lock) && lc_fail "$1: files left in the state dir: $left"
  return 0
}
failing_with() { read -r ok w f err < <(store); [[ $ok == False && $f -ge $2 && $err == *"$1"* ]]; }
written() { read -r ok w f err < <(store); [[ $ok == True && $(on_disk) == "$1" ]]; }

start 1
code=$(curl -sS -o /dev/null -w '%{http_code}' -X PUT -H "$AUTH" -H "$JSON" -d '{"name":"v0","volume":10}' "$base/sessions/$ID")
[[ $code == 200 || $code == 201 ]] || lc_fail "PUT answered $code"
until_ok 3 written v0 || lc_fail "the first write did not happen: $(store)"
node "$DIR/fault_disk_watch.mjs" "$state" "$ID" >"$LC_TMP/watch.json" &
WATCH_PID=$!
"$LC_BENCH" listeners --port "$port" -n 2 --decode 2 --no-persist --warmup 0.5 --seconds 12 \
  --expect-hz 440 --max-gap-ms 400 --no-drops --quiet >"$LC_TMP/bench.txt" 2>&1 &
bench=$!
LC_PIDS+=("$bench")
sleep 1

# stop_watcher REPORT WHEN: stops the sessions.json reader; it must never have seen the file
# incomplete or invalid.
stop_watcher() {
  local wrc
  kill -TERM "$WATCH_PID"
  wait "$WATCH_PID"
  wrc=$?
  WATCH_PID=""
  echo "watcher: $(cat "$1")"
  ((wrc == 0)) || lc_fail "sessions.json was seen incomplete or invalid$2 (above)"
}

# expect_failing LABEL NAME VOLUME ERROR ON_DISK: a PATCH to NAME/VOLUME while the disk fails
# with ERROR: /status shows the write retried and failing, /metrics counts it, the file on disk
# still holds ON_DISK, and no temp file is left.
expect_failing() {
  local label=$1 name=$2 vol=$3 err=$4 old=$5 f0 m
  read -r _ _ f0 _ < <(store)
  patch "{\"name\":\"$name\",\"volume\":$vol}"
  until_ok 4 failing_with "$err" $((f0 + 2)) || lc_fail "$label: status does not show it retried and failed: $(store)"
  echo "status while $label: $(store)"
  m=$(metric loopcast_store_write_failures_total)
  ((${m:-0} >= f0 + 2)) || lc_fail "$label: loopcast_store_write_failures_total is '$m'"
  [[ $(metric loopcast_store_ok) == 0 ]] || lc_fail "$label: loopcast_store_ok is '$(metric loopcast_store_ok)'"
  [[ $(on_disk) == "$old" ]] || lc_fail "$label: sessions.json changed: $(on_disk)"
  no_tmp "$label"
}

# ---- disk full ---------------------------------------------------------------------------------
dd if=/dev/zero of="$disk/filler" bs=4k 2>/dev/null
echo "disk full: $(df -k --output=used,avail "$disk" | tail -1)"
expect_failing "disk full" v1 20 "No space left on device" v0
curl -sS -H "$AUTH" "$base/sessions/$ID" | grep -q '"name":"v1"' || lc_fail "disk full: the PATCH did not take effect in memory"
rm -f "$disk/filler"
t0=$(date +%s%N)
until_ok 4 written v1 || lc_fail "after freeing space the change was not written: $(store), on disk $(on_disk)"
echo "space freed: written $((($(date +%s%N) - t0) / 1000000)) ms later without a request; $(store)"
no_tmp "after disk full"

# ---- read-only ---------------------------------------------------------------------------------
until_ok 2 mount -o remount,ro "$disk" || lc_fail "cannot remount the state dir read-only"
expect_failing "read-only" v2 30 "Read-only file system" v1
mount -o remount,rw "$disk" || lc_fail "cannot remount read-write"
until_ok 4 written v2 || lc_fail "after remounting rw the change was not written: $(store), on disk $(on_disk)"
echo "writable again: $(store)"
[[ $(metric loopcast_store_ok) == 1 ]] || lc_fail "writable again: loopcast_store_ok is '$(metric loopcast_store_ok)'"
no_tmp "after read-only"

wait "$bench"
rc=$?
cat "$LC_TMP/bench.txt"
((rc == 0)) || lc_fail "listeners were disturbed while the store failed (above)"

# ---- SIGTERM while the disk is full ------------------------------------------------------------
dd if=/dev/zero of="$disk/filler" bs=4k 2>/dev/null
read -r _ _ f0 _ < <(store)
patch '{"name":"v3","volume":40}'
until_ok 4 failing_with "No space left on device" $((f0 + 1)) || lc_fail "full again: no failure shown: $(store)"
t0=$(date +%s%N)
lc_stop_server TERM
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
echo "SIGTERM with the disk full: exit $rc after $ms ms"
((ms < 2000)) || lc_fail "SIGTERM with the disk full took $ms ms"
grep -q "final write failed" "$LC_TMP/s1.log" || { cat "$LC_TMP/s1.log"; lc_fail "the failed final write was not logged"; }
[[ $(on_disk) == v2 ]] || lc_fail "after SIGTERM on a full disk sessions.json holds $(on_disk), want the last good v2"
no_tmp "SIGTERM on a full disk"
rm -f "$disk/filler"

stop_watcher "$LC_TMP/watch.json" ""
python3 - "$LC_TMP/watch.json" <<'PY' || lc_fail "the watcher did not see the file go v0 → v1 → v2"
import json, sys
w = json.load(open(sys.argv[1]))
assert w["reads"] > 500, w["reads"]
assert w["names"] == ["v0", "v1", "v2"], w["names"]
PY

# ---- the later steps fail: fsync, close, rename (LD_PRELOAD shim; see tests/fault/lc_fault_io.c) -
# The restart also proves the last good file loads after the faults above.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
LD_PRELOAD=$SHIM LC_FAULT_DIR=$state LC_FAULT_CTL=$LC_TMP/fault.ctl start 2
ls "$state" | grep -q corrupt && lc_fail "the store was set aside as corrupt after the faults"
curl -sS -H "$AUTH" "$base/sessions/$ID" | grep -q '"name":"v2"' || lc_fail "after restart the session is not v2"
node "$DIR/fault_disk_watch.mjs" "$state" "$ID" >"$LC_TMP/watch2.json" &
WATCH_PID=$!
prev=v2
for fault in "fsync EIO:fsync" "close ENOSPC:close" "rename EIO:rename"; do
  spec=${fault%%:*} call=${fault##*:}
  read -r _ _ f0 _ < <(store)
  echo "$spec" >"$LC_TMP/fault.ctl"
  patch "{\"name\":\"$call\"}"
  until_ok 4 failing_with "$call" $((f0 + 2)) || lc_fail "$spec: status does not show it retried and failed: $(store)"
  echo "status with $spec: $(store)"
  [[ $(on_disk) == "$prev" ]] || lc_fail "$spec: sessions.json changed to $(on_disk)"
  no_tmp "$spec"
  rm -f "$LC_TMP/fault.ctl"
  until_ok 4 written "$call" || lc_fail "$spec cleared: the change was not written: $(store)"
  no_tmp "$spec cleared"
  prev=$call
done
lc_stop_server TERM || lc_fail "exit status after SIGTERM"
stop_watcher "$LC_TMP/watch2.json" " with the shim"
python3 - "$LC_TMP/watch2.json" <<'PY' || lc_fail "the watcher did not see the file go v2 → fsync → close → rename"
import json, sys
w = json.load(open(sys.argv[1]))
assert w["names"] == ["v2", "fsync", "close", "rename"], w["names"]
PY
lc_pass "disk full and read-only state dir: streaming undisturbed, errors on /status and /metrics, retried until written, sessions.json always complete, no temp file left"
