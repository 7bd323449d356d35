#!/usr/bin/env bash
# --threads N (issue 15), with the real server on four service threads:
#   1. bad --threads / LOOPCAST_THREADS values exit 2 with a message naming the flag;
#   2. listeners spread over every thread all get full-rate audio: 24 listeners (bench), no drop,
#      the decoded ones hear the tone of their stream, while
#   3. the API and events reach connections on every thread (threads_ws.mjs: PATCH, group,
#      DELETE → 1008 on each);
#   4. /stream.ogg is served from a worker thread too; SIGTERM stops every thread, exit 0;
#   5. the reference fan-out loop that docs/performance.md measures loopcast against
#      (loopcast-bench bare) serves the same bench client at full rate.
# TSan runs it (label "threads"): every cross-thread path above is exercised.
source "$(dirname "$0")/../lib.sh"
DIR=$(cd "$(dirname "$0")" && pwd)
[[ -x "$LC_BENCH" ]] || lc_fail "no loopcast-bench at $LC_BENCH"
node_bin=$(command -v node) || lc_fail "node is not installed"
THREADS=4
# Under TSan: glibc's time zone lock, which TSan cannot see, in lws's TLS set-up on every thread
# (tests/integration/tsan.supp says why).
export TSAN_OPTIONS="${TSAN_OPTIONS:+$TSAN_OPTIONS:}suppressions=$DIR/tsan.supp"

# ---- 1. bad flags --------------------------------------------------------------------------------
bad_flag() { # expected-message args...
  local want=$1; shift
  out=$("$LOOPCAST_BIN" --port 1 --state-dir "$LC_TMP/never" "$@" 2>&1); rc=$?
  ((rc == 2)) || lc_fail "'$*': exit $rc, expected 2 ($out)"
  grep -qF -- "$want" <<<"$out" || lc_fail "'$*': message '$out' lacks '$want'"
}
bad_flag "--threads: '0' is not a number in 1..64" --threads 0
bad_flag "--threads: '65' is not a number in 1..64" --threads 65
bad_flag "--threads: 'two' is not a number in 1..64" --threads two
LOOPCAST_THREADS=x bad_flag "LOOPCAST_THREADS: 'x' is not a number in 1..64" --bind 127.0.0.1
lc_pass "bad --threads values: exit 2, the flag named"

# ---- 2. + 3. ---------------------------------------------------------------------------------------
port=$(lc_free_port)
lc_start_server "$LC_TMP/server.log" --threads "$THREADS" --stream a=tone:440 --stream b=tone:1000 \
  --bind 127.0.0.1 --port "$port" --state-dir "$LC_TMP/state" --max-conns-per-ip 1000
grep -q "service threads: $THREADS" "$LC_TMP/server.log" || lc_fail "the start-up log does not say: service threads: $THREADS"
token=$(cat "$LC_TMP/state/api-token") || lc_fail "no generated token file"

# Sanitizer builds run several times slower: the bench's rate and gap checks stay, its window
# is what such a build can hold at 24 listeners.
"$LC_BENCH" listeners --port "$port" -n 24 --decode 4 --expect-hz 440 --no-drops --max-gap-ms 200 \
  --seconds 8 --quiet >"$LC_TMP/bench.log" 2>&1 &
bench=$!
"$node_bin" "$DIR/threads_ws.mjs" "$port" "$token" "$THREADS" || { cat "$LC_TMP/server.log"; lc_fail "API and events across threads"; }
wait "$bench" || { cat "$LC_TMP/bench.log"; lc_fail "listeners on $THREADS threads: rate, drops or tone"; }
cat "$LC_TMP/bench.log"
lc_pass "24 listeners over $THREADS threads: full rate, no drop, 440 Hz; API and events reach every thread"

# ---- 4. /stream.ogg, then stop ---------------------------------------------------------------------
# Each new connection goes to the least busy thread: with none open, a few requests land on
# several threads; each must answer with Ogg pages.
for i in 1 2 3 4; do
  head=$(curl -s --max-time 2 "http://127.0.0.1:$port/stream.ogg?stream=b" | head -c 4)
  [[ "$head" == OggS ]] || lc_fail "/stream.ogg request $i: '$head', not an Ogg page"
done
lc_pass "/stream.ogg answered on every request (4, over the threads)"
lc_stop_server TERM || lc_fail "server exit status after SIGTERM"
grep -E "ERROR|WARN" "$LC_TMP/server.log" | grep -v "tone" && lc_fail "warnings in the server log"
lc_pass "threads: SIGTERM stopped $THREADS threads, exit 0"

# ---- 5. the benchmark's reference loop -------------------------------------------------------------
bport=$(lc_free_port)
"$LC_BENCH" bare --port "$bport" --seconds 20 >"$LC_TMP/bare.log" 2>&1 &
bare=$!
LC_PIDS+=("$bare")
for ((i = 0; i < 50; i++)); do (exec 3<>"/dev/tcp/127.0.0.1/$bport") 2>/dev/null && break; sleep 0.1; done
"$LC_BENCH" listeners --port "$bport" -n 20 --no-drops --max-gap-ms 200 --seconds 3 --quiet \
  --server-pid "$bare" >"$LC_TMP/bare-bench.log" 2>&1 || { cat "$LC_TMP/bare-bench.log" "$LC_TMP/bare.log"; lc_fail "bench bare: 20 listeners"; }
kill -TERM "$bare"; wait "$bare" || { cat "$LC_TMP/bare.log"; lc_fail "bench bare: exit status after SIGTERM"; }
grep -E "^delivered|CPU" "$LC_TMP/bare-bench.log"
cat "$LC_TMP/bare.log"
lc_pass "loopcast-bench bare: 20 listeners at full rate, no drop; exits 0 on SIGTERM"

# ---- 6. TLS on every thread ---------------------------------------------------------------------
# Sockets handed to another thread are adopted with TLS there; each context's OpenSSL set-up must
# not leak (ASan fails the exit status) nor break the others' (wrong version number).
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$LC_TMP/key.pem" -out "$LC_TMP/cert.pem" -days 2 \
  -subj /CN=localhost >/dev/null 2>&1 || lc_fail "openssl could not make a test certificate"
tport=$(lc_free_port)
"$LOOPCAST_BIN" --threads 3 --source tone:440 --bind 127.0.0.1 --port "$tport" --state-dir "$LC_TMP/tls" \
  --tls-cert "$LC_TMP/cert.pem" --tls-key "$LC_TMP/key.pem" >"$LC_TMP/tls.log" 2>&1 &
LC_PID=$!
LC_PIDS+=("$LC_PID")
for ((i = 0; i < 100; i++)); do curl -fsk -o /dev/null "https://127.0.0.1:$tport/healthz" && break; sleep 0.1; done
"$node_bin" --input-type=module -e "
import WebSocket from '$DIR/../node_modules/ws/wrapper.mjs';
import https from 'node:https';
const n = 6, got = new Array(n).fill(0), errs = [];
const ws = got.map((_, i) => { const w = new WebSocket('wss://127.0.0.1:$tport/stream', 'loopcast.v1', { rejectUnauthorized: false });
  w.on('message', (d, bin) => { if (bin) got[i]++; }); w.on('error', (e) => errs.push(e.message)); return w; });
await new Promise((r) => setTimeout(r, 1500));
const m = await new Promise((res) => https.get('https://127.0.0.1:$tport/metrics', { rejectUnauthorized: false }, (r) => {
  let b = ''; r.on('data', (d) => (b += d)); r.on('end', () => res(b)); }).on('error', (e) => res('')));
const per = [...m.matchAll(/^loopcast_thread_listeners\\{thread=.(\\d+).\\} (\\d+)/gm)].map((x) => Number(x[2]));
console.log('packets per connection: ' + got.join(' ') + '; listeners per thread: ' + per.join(' ') +
  (errs.length ? '; errors: ' + errs.join('; ') : ''));
ws.forEach((w) => w.close());
await new Promise((r) => setTimeout(r, 300));
process.exit(errs.length || got.some((g) => g < 40) || per.length !== 3 || per.some((p) => p < 1) ? 1 : 0);
" || { cat "$LC_TMP/tls.log"; lc_fail "WSS on 3 threads: a connection failed, got no audio, or a thread held none"; }
lc_stop_server TERM || { cat "$LC_TMP/tls.log"; lc_fail "TLS server on 3 threads: exit status after SIGTERM (a leak under ASan?)"; }
lc_pass "TLS on 3 threads: 6 WSS listeners spread over all 3, each fed; clean exit"
