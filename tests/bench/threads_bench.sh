#!/usr/bin/env bash
# threads_bench.sh BUILD_DIR [N...] — fan-out with 1 and 2 (or $THREADS) service threads next to
# the bare reference loop (loopcast-bench bare), same listeners client, same run (issue 15).
# For each N (default 1000 2000 3000 5000): one row per server — bare, then loopcast --threads T
# for each T in $THREADS (default "1 2") — each a fresh process, stopped after its row. Prints
# one table row per run:
#   server  N  min pkt/s  drops  longest gap  delay p50/p99  server CPU (% of one core)
#   µs of server CPU per delivered packet, and that ÷ the bare loop's in the same N
# "Full rate" (issue 15): every listener ≥ 49 packets/s at 20 ms frames, longest gap ≤ 120 ms.
# Not a test: figures for docs/performance.md. Takes about 25 s a row.
set -uo pipefail
build=${1:?usage: threads_bench.sh BUILD_DIR [N...]}
shift
counts=("$@")
[[ $# -eq 0 ]] && counts=(1000 2000 3000 5000)
threads=${THREADS:-1 2}
bench="$build/tests/bench/loopcast-bench"
server="$build/server/loopcast"
port=${PORT:-18710}
secs=${SECONDS_WINDOW:-10}
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$tmp"' EXIT

# run_row NAME N PID — measure N listeners against the server PID on $port; prints the row
run_row() {
  local name=$1 n=$2 pid=$3 out
  out=$("$bench" listeners --port "$port" -n "$n" --rate 500 --seconds "$secs" --server-pid "$pid" \
        --rate-tolerance 0 --quiet 2>&1)
  local min res
  min=$(sed -n 's/^delivered.*min \([0-9.]*\)).*/\1/p' <<<"$out")
  res=$(grep '^RESULT ' <<<"$out" | cut -d' ' -f2-)
  python3 - "$name" "$n" "${min:-0}" "$res" "${bare_us:-0}" <<'EOF'
import json, sys
name, n, mn, res, bare = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4], float(sys.argv[5])
r = json.loads(res) if res else {}
pk, miss = r.get("packets", 0), r.get("missing", 0)
cpu = r.get("server_cpu_pct", -1)
us = cpu / 100 * r.get("window_s", 0) / pk * 1e6 if pk and cpu >= 0 else 0
drops = miss / (pk + miss) * 100 if pk + miss else 100
full = mn >= 49 and r.get("max_gap_ms", 1e9) <= 120 and r.get("open", 0) == n
ratio = f"{us / bare:.2f}x" if bare and us else "-"
print(f"{name:<10} {n:>6} {mn:>6.1f}/s {drops:>6.2f}% {r.get('max_gap_ms', 0):>7.1f} ms "
      f"{r.get('delay_p50_ms', 0):>6.1f}/{r.get('delay_p99_ms', 0):<6.1f} ms {cpu:>6.1f}% "
      f"{us:>5.2f} us/pkt {ratio:>6} {'full rate' if full else 'BELOW full rate'}")
print(f"US {us:.4f}", file=sys.stderr)
EOF
}

echo "commit $(git -C "$(dirname "$0")" rev-parse --short HEAD 2>/dev/null), $(nproc) CPUs, $(date -u +%FT%TZ), window ${secs} s"
echo "server         N   min rate  drops   longest gap  delay p50/p99  CPU   per packet  vs bare"
for n in "${counts[@]}"; do
  "$bench" bare --port "$port" >"$tmp/bare.log" 2>&1 &
  pid=$!
  sleep 0.5
  bare_us=0
  row=$(run_row bare "$n" "$pid" 2>"$tmp/us")
  echo "$row"
  bare_us=$(sed -n 's/^US //p' "$tmp/us")
  kill -TERM "$pid"; wait "$pid" 2>/dev/null
  for t in $threads; do
    rm -rf "$tmp/state"
    "$server" --source tone:440 --bind 127.0.0.1 --port "$port" --threads "$t" --mdns off \
      --max-listeners 20000 --max-sessions 20000 --max-conns-per-ip 20000 \
      --state-dir "$tmp/state" --api-token x >"$tmp/server.log" 2>&1 &
    pid=$!
    for ((i = 0; i < 50; i++)); do curl -fso /dev/null "http://127.0.0.1:$port/healthz" && break; sleep 0.1; done
    run_row "threads=$t" "$n" "$pid" 2>/dev/null
    kill -TERM "$pid"; wait "$pid" 2>/dev/null
  done
done
