#!/usr/bin/env bash
# The audio WebSocket end to end, with the real server and a real WebSocket client
# (loopcast-bench listeners: lws client + libopus decoder):
#   1. tone: source — listeners receive packets at the frame rate, consecutive sequence numbers,
#      decoding to the tone's frequency;
#   2. listeners that stop reading cost the others no packet, and the server's memory does not
#      grow with the audio they are not reading (the timing comparison is slow_reader_test.sh's);
#   3. pipe: source fed in real time from a FIFO decodes to the written frequency;
#   4. several hundred listeners connect and disconnect in a loop (leaks show under ASan at exit);
#   5. SIGTERM ends the server with status 0.
source "$(dirname "$0")/../lib.sh"
[[ -x "$LC_BENCH" ]] || lc_fail "no loopcast-bench at $LC_BENCH"
node_bin=$(command -v node) || lc_fail "node not found"

# ---- 1. tone source ---------------------------------------------------------------------------
port=$(lc_free_port)
# 300 listeners from one address: over the default --max-conns-per-ip (128).
lc_start_server "$LC_TMP/tone.log" --source tone:1000 --bind 127.0.0.1 --port "$port" \
  --max-conns-per-ip 1000
out=$("$LC_BENCH" listeners --port "$port" -n 4 --decode 2 --seconds 4 --expect-hz 1000 \
      --no-drops --max-gap-ms 120 --server-pid "$LC_PID") || { echo "$out"; lc_fail "tone: listener checks"; }
echo "$out"
lc_pass "tone: 4 listeners, right rate, consecutive sequence numbers, 1000 Hz decoded"

# ---- 2. stuck listeners ----------------------------------------------------------------------
# Here (also under ASan/TSan): the readers lose nothing while listeners are stuck, and the
# server's memory does not grow with the audio the stuck ones are not reading. The timing claim
# (same worst gap with and without a stuck one) needs repeated interleaved runs to be fair on a
# loaded machine: slow_reader_test.sh makes it.
#
# The design's promise (server/ws_stream.c, stream/stream.h, docs/server.md "Slow listeners"): a
# listener's queue is a cursor into the one shared, preallocated packet ring, so a stuck one
# costs its kernel send buffer (SO_SNDBUF, not in RSS) and at most the tail of one packet that
# lws keeps after a partial write (<= 4 KiB), and nothing that grows with time. So over the
# window the server's RSS may grow by at most STUCK x 4 KiB + 64 KiB (page and allocator
# granularity, as in slow_reader_test.sh), plus whatever a healthy server with the same number
# of connections grew by in a run just before (the noise floor of this build, measured, printed).
# A server that queued the stuck listeners' audio instead would grow by STUCK x the bytes one
# reader received in the window: that is measured in the same run too (bytes per packet from
# /metrics, packets from the bench), and the test first checks that it is at least 8x the bound,
# so the check could not pass vacuously. 16 stuck listeners make that ~2.8 MB at the default
# 128 kb/s; the one they replace (1 stuck, a 2048 kB bound) could not fail: queuing all its audio
# would have added ~128 kB.
READERS=20 STUCK=16 WINDOW=8
TAIL_KB=4 SLACK_KB=64
field() { grep -o "\"$2\":[0-9.-]*" <<<"$1" | head -1 | cut -d: -f2; }
metric() { curl -fsS "http://127.0.0.1:$port/metrics" | awk -v m="$1" '$1 == m { printf "%d\n", $2 }'; }
stuck_run() { # stuck_run STALLED: READERS + STUCK listeners, STALLED of them stuck; its RESULT line
  "$LC_BENCH" listeners --port "$port" -n $((READERS + STUCK)) --stalled "$1" --seconds "$WINDOW" \
    --warmup 2 --no-drops --quiet --server-pid "$LC_PID" 2>&1
}
# The stuck listeners' backlog reaches the server within the 2 s warmup (the bench shrinks their
# receive buffers), so the window measures the steady state: what keeps growing.
base=$(stuck_run 0) || { echo "$base"; lc_fail "$((READERS + STUCK)) reading listeners lost packets"; }
g0=$(( $(field "$base" rss_end_kb) - $(field "$base" rss_open_kb) ))
bytes0=$(metric loopcast_bytes_sent_total); pk0=$(metric loopcast_packets_sent_total)
stuck=$(stuck_run "$STUCK") || { echo "$stuck"; lc_fail "$READERS listeners + $STUCK stuck: the readers lost packets"; }
bytes1=$(metric loopcast_bytes_sent_total); pk1=$(metric loopcast_packets_sent_total)
g1=$(( $(field "$stuck" rss_end_kb) - $(field "$stuck" rss_open_kb) ))
((pk1 > pk0)) || lc_fail "no audio packets counted in /metrics during the stuck run"
pkt_bytes=$(( (bytes1 - bytes0) / (pk1 - pk0) ))
per_reader_kb=$(( $(field "$stuck" packets) / READERS * pkt_bytes / 1024 ))
queue_kb=$((STUCK * per_reader_kb))
(( g0 > 0 )) || g0=0
bound_kb=$((STUCK * TAIL_KB + SLACK_KB + g0))
echo "stuck listeners: server RSS +$g0 kB over ${WINDOW} s with $((READERS + STUCK)) reading, +$g1 kB with $STUCK of them stuck (bound $STUCK x $TAIL_KB + $SLACK_KB + $g0 = $bound_kb kB); queuing their audio would add $STUCK x $per_reader_kb = $queue_kb kB ($pkt_bytes B/packet)"
((queue_kb >= 8 * (STUCK * TAIL_KB + SLACK_KB))) \
  || lc_fail "the stuck run cannot tell: queuing everything would add only $queue_kb kB"
# Under ThreadSanitizer RSS is not the heap: every new heap region brings its shadow (several
# times its size) and the sanitizer's allocator maps in large steps, so one 4 KiB tail can show as
# +512 kB (seen in the TSan flavour with a healthy run at +0 kB). There the figures are printed
# and the readers' losslessness is checked; the memory bound is judged in the other builds (the
# full suite runs this test under ASan+UBSan too).
libs=$(ldd "$LOOPCAST_BIN" 2>/dev/null)
if grep -q libtsan <<<"$libs"; then
  lc_pass "stuck listeners: $READERS readers lost nothing; RSS +$g1 kB not judged under ThreadSanitizer (shadow memory)"
else
  ((g1 <= bound_kb)) || lc_fail "server memory grew $g1 kB while $STUCK listeners were stuck (bound: $bound_kb kB; queuing their audio: $queue_kb kB)"
  lc_pass "stuck listeners: $READERS readers lost nothing, server RSS +$g1 kB (bound $bound_kb kB, queuing would be +$queue_kb kB)"
fi

# ---- 4. churn ---------------------------------------------------------------------------------
for round in 1 2 3; do
  "$LC_BENCH" listeners --port "$port" -n 300 --seconds 0.5 --warmup 0.2 --rate-tolerance 0 --quiet \
    >"$LC_TMP/churn$round.log" || { cat "$LC_TMP/churn$round.log"; lc_fail "churn round $round"; }
done
curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null || lc_fail "server unhealthy after churn"
lc_pass "churn: 3 x 300 listeners connected and left"

# ---- 5. SIGTERM -------------------------------------------------------------------------------
t0=$(date +%s%N)
lc_stop_server TERM; rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
((rc == 0)) || { cat "$LC_TMP/tone.log"; lc_fail "server exited $rc after SIGTERM"; }
((ms < 2000)) || lc_fail "server took $ms ms to stop"
lc_pass "SIGTERM: exit 0 in $ms ms"

# ---- 3. pipe source ---------------------------------------------------------------------------
fifo="$LC_TMP/snapfifo"
mkfifo "$fifo"
port=$(lc_free_port)
"$node_bin" "$(dirname "$0")/pace_tone.mjs" "$fifo" 440 12 &
LC_PIDS+=($!)
lc_start_server "$LC_TMP/pipe.log" --source "pipe:$fifo?format=s16le&rate=48000&channels=2" \
  --bind 127.0.0.1 --port "$port"
out=$("$LC_BENCH" listeners --port "$port" -n 2 --decode 2 --seconds 3 --expect-hz 440 --no-drops \
      --max-gap-ms 150) || { echo "$out"; cat "$LC_TMP/pipe.log"; lc_fail "pipe: listener checks"; }
echo "$out"
lc_stop_server TERM || lc_fail "pipe server exit status"
lc_pass "pipe: 440 Hz written in real time into a FIFO decoded by listeners"
