#!/usr/bin/env bash
# Crash safety of the session store: PATCHes in a loop (each acknowledged value recorded with the
# time its 200 arrived), kill -9 at a random moment, restart on the same --state-dir; 12 rounds.
# After every crash the store loads (no sessions.json.corrupt-* appears) and every change
# acknowledged at least 1 s before the kill is in it (the store promises flush delay + one write).
source "$(dirname "$0")/../lib.sh"
ROUNDS=${ROUNDS:-12}
port=$(lc_free_port)
state="$LC_TMP/state"
base="http://127.0.0.1:$port/api/v1"
JSON="Content-Type: application/json"
ID=c0ffee00-0000-4000-8000-000000000001
t_start=$(date +%s)

lc_start_server "$LC_TMP/c0.log" --source tone:440 --bind 127.0.0.1 --port "$port" --state-dir "$state"
AUTH="Authorization: Bearer $(cat "$state/api-token")"
curl -sS -f -o /dev/null -X PUT -H "$AUTH" -H "$JSON" -d '{"name":"seq 0"}' "$base/sessions/$ID" || lc_fail "PUT"
sleep 0.5
seq=0
for round in $(seq 1 "$ROUNDS"); do
  acks="$LC_TMP/acks$round"
  : >"$acks"
  # the writer: PATCH as fast as curl goes, log "ack_ns seq" for every 200
  (
    s=$seq
    while :; do
      s=$((s + 1))
      c=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 2 -X PATCH -H "$AUTH" -H "$JSON" \
          -d "{\"name\":\"seq $s\",\"volume\":$((s % 101))}" "$base/sessions/$ID" 2>/dev/null) || break
      [[ $c == 200 ]] || break
      echo "$(date +%s%N) $s" >>"$acks"
    done
  ) &
  writer=$!
  sleep "$(awk -v r=$RANDOM 'BEGIN { printf "%.2f", 1.2 + r / 32767 * 1.6 }')"
  kill_ns=$(date +%s%N)
  kill -KILL "$LC_PID"
  wait "$LC_PID" 2>/dev/null
  wait "$writer" 2>/dev/null
  n_acks=$(wc -l <"$acks")
  ((n_acks > 0)) || lc_fail "round $round: no PATCH was acknowledged"
  # the newest seq acknowledged >= 1 s before the kill must be on disk (or a later one)
  need=$(awk -v k="$kill_ns" '$1 <= k - 1000000000 { s = $2 } END { print s + 0 }' "$acks")
  last=$(tail -1 "$acks" | cut -d' ' -f2)
  seq=$last

  lc_start_server "$LC_TMP/c$round.log" --source tone:440 --bind 127.0.0.1 --port "$port" --state-dir "$state"
  ls "$state" | grep -q corrupt && { ls -la "$state"; cat "$LC_TMP/c$round.log"; lc_fail "round $round: the store was set aside as corrupt"; }
  grep -q "session store:" "$LC_TMP/c$round.log" && { cat "$LC_TMP/c$round.log"; lc_fail "round $round: store load reported a problem"; }
  got=$(curl -sS -H "$AUTH" "$base/sessions/$ID" | python3 -c 'import json,sys; print(json.load(sys.stdin)["name"].split()[1])') \
    || lc_fail "round $round: session missing after the crash"
  ((got >= need)) || lc_fail "round $round: store has seq $got, but seq $need was acknowledged >= 1 s before the kill"
  echo "round $round: $n_acks PATCHes acknowledged (last seq $last), killed; store has seq $got (needed >= $need)"
  seq=$(( got > last ? got : last ))
done
lc_stop_server TERM || lc_fail "exit status after SIGTERM"
secs=$(( $(date +%s) - t_start ))
lc_pass "$ROUNDS kill -9 rounds in $secs s: the store always loaded, nothing acknowledged >= 1 s before a kill was lost"
