#!/usr/bin/env bash
# tests/deploy/prometheus_test.sh — a real Prometheus server scrapes a real loopcast, and the test
# asks Prometheus (its HTTP query API, not a regex over /metrics) what it saw:
#   - `promtool check metrics` accepts /metrics (names, types, HELP, units conventions);
#   - the scrape target is up and loopcast_ready is 1 with a tone source;
#   - loopcast_listeners equals the number of WebSocket listeners the test holds open (2, via
#     loopcast-bench listeners in the background), and returns to 0 after they close;
#   - rate(loopcast_packets_encoded_total) is the frame rate (50/s at 20 ms frames, ±20 %);
#   - loopcast_packets_sent_total grew by about 2 listeners x 50 packets/s while they listened.
# Everything binds 127.0.0.1 on free ports; loopcast and prometheus are stopped on exit (trap).
# Standalone: tests/deploy/prometheus_test.sh  (needs build/server/loopcast and loopcast-bench,
# or LOOPCAST_BIN / LC_BENCH pointing at them; promtool and prometheus from Debian's prometheus).
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export LC_TEST_ROOT=${LC_TEST_ROOT:-$(cd "$HERE/../.." && pwd)}
# shellcheck source=../lib.sh
source "$HERE/../lib.sh"

for t in prometheus promtool curl node; do
  command -v "$t" >/dev/null || lc_fail "$t not installed (deploy/install-deps.sh installs it)"
done
[[ -x "$LC_BENCH" ]] || lc_fail "no loopcast-bench at $LC_BENCH"
passed=0
pass() { lc_pass "$@"; passed=$((passed + 1)); }

port=$(lc_free_port) || lc_fail "no free port"
lc_start_server "$LC_TMP/loopcast.log" --source tone:440 --bind 127.0.0.1 --port "$port"
lc_wait_http "http://127.0.0.1:$port/readyz" 15 || lc_fail "loopcast not ready"

curl -fsS "http://127.0.0.1:$port/metrics" >"$LC_TMP/metrics.txt" || lc_fail "GET /metrics"
promtool check metrics <"$LC_TMP/metrics.txt" >"$LC_TMP/promtool.out" 2>&1 \
  || { cat "$LC_TMP/promtool.out" >&2; lc_fail "promtool check metrics"; }
pass "promtool check metrics ($(grep -c '^# TYPE' "$LC_TMP/metrics.txt") families)"

pport=$(lc_free_port) || lc_fail "no free port"
while [[ "$pport" == "$port" ]]; do pport=$(lc_free_port); done
cat >"$LC_TMP/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: loopcast
    scrape_interval: 1s
    scrape_timeout: 900ms
    static_configs:
      - targets: ['127.0.0.1:$port']
EOF
promtool check config "$LC_TMP/prometheus.yml" >/dev/null 2>&1 || lc_fail "promtool check config"
prometheus --config.file="$LC_TMP/prometheus.yml" --storage.tsdb.path="$LC_TMP/tsdb" \
  --web.listen-address="127.0.0.1:$pport" --log.level=warn >"$LC_TMP/prometheus.log" 2>&1 &
PROM_PID=$!
LC_PIDS+=("$PROM_PID")
lc_wait_http "http://127.0.0.1:$pport/-/ready" 30 || { cat "$LC_TMP/prometheus.log" >&2; lc_fail "prometheus not ready"; }

# query EXPR: the single instant value Prometheus returns for EXPR ("" if none).
query() {
  curl -fsS --max-time 3 -G "http://127.0.0.1:$pport/api/v1/query" --data-urlencode "query=$1" 2>/dev/null \
    | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{try{const j=JSON.parse(s);
        const r=j.data.result;process.stdout.write(j.status==="success"&&r.length===1?String(r[0].value[1]):"")}catch{}})'
}
# wait_value EXPR WANT SECONDS: until Prometheus answers WANT for EXPR.
wait_value() {
  local i v=""
  for ((i = 0; i < $3 * 4; i++)); do
    v=$(query "$1")
    [[ "$v" == "$2" ]] && return 0
    sleep 0.25
  done
  echo "last value of $1: '${v}'" >&2
  return 1
}

wait_value 'up{job="loopcast"}' 1 20 || { cat "$LC_TMP/prometheus.log" >&2; lc_fail "Prometheus never scraped loopcast"; }
pass "Prometheus scrapes 127.0.0.1:$port (up == 1)"
wait_value 'loopcast_ready' 1 10 || lc_fail "loopcast_ready is not 1"
wait_value 'loopcast_listeners' 0 10 || lc_fail "loopcast_listeners is not 0 before any listener"
pass "loopcast_ready 1, loopcast_listeners 0"

sleep 3 # a few more samples for rate()
rate=$(query 'rate(loopcast_packets_encoded_total[3s])')
awk -v r="$rate" 'BEGIN { exit !(r >= 40 && r <= 60) }' || lc_fail "encoded packet rate is '$rate'/s, want ~50"
pass "rate(loopcast_packets_encoded_total) = $rate/s (20 ms frames)"

sent0=$(query 'loopcast_packets_sent_total')
"$LC_BENCH" listeners --port "$port" -n 2 --seconds 8 --warmup 0.5 --quiet >"$LC_TMP/bench.out" 2>&1 &
BENCH=$!
LC_PIDS+=("$BENCH")
wait_value 'loopcast_listeners' 2 6 || lc_fail "Prometheus does not see the 2 open listeners"
pass "Prometheus: loopcast_listeners == 2 while 2 listeners are connected"
wait "$BENCH" || { cat "$LC_TMP/bench.out" >&2; lc_fail "loopcast-bench listeners failed"; }
wait_value 'loopcast_listeners' 0 6 || lc_fail "loopcast_listeners did not return to 0 after the listeners closed"
pass "Prometheus: loopcast_listeners back to 0 after they closed"
sleep 1.5
sent1=$(query 'loopcast_packets_sent_total')
awk -v a="$sent0" -v b="$sent1" 'BEGIN { d = b - a; exit !(d >= 2 * 50 * 7 && d <= 2 * 50 * 12) }' \
  || lc_fail "packets_sent_total grew by $sent1 - $sent0, want about 2 x 50/s x ~9 s"
pass "loopcast_packets_sent_total grew by $(awk -v a="$sent0" -v b="$sent1" 'BEGIN{print b-a}') (2 listeners x ~9 s x 50/s)"

lc_stop_server TERM || lc_fail "loopcast exit status $? after SIGTERM (want 0)"
pass "loopcast exits 0 on SIGTERM"
kill "$PROM_PID" 2>/dev/null
wait "$PROM_PID" 2>/dev/null
echo "$passed passed, 0 failed"
