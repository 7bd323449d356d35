#!/usr/bin/env bash
# /stream.ogg (issue 15) as media players see it, with the real server and real players' tools:
#   1. ffprobe reports Ogg Opus, 48 kHz, 2 channels, titled with the stream's name;
#   2. ffmpeg decodes each stream's own tone (?stream=a 440 Hz, ?stream=b 1000 Hz);
#   3. ?session=GUID: the API shows the session connected (output "ogg", packets counted) and
#      /metrics a listener while ffmpeg reads; a muted session decodes to silence and the stream
#      keeps its pace; without ?stream= it hears the session's stream;
#   4. bad input: an unknown stream 404, a malformed session 400 (JSON bodies); HEAD gives the type;
#   5. SIGTERM with a player connected: exit 0.
source "$(dirname "$0")/../lib.sh"
command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || lc_fail "ffmpeg/ffprobe needed (deploy/install-deps.sh)"
command -v python3 >/dev/null || lc_fail "python3 needed"
port=$(lc_free_port)
state="$LC_TMP/state"
lc_start_server "$LC_TMP/ogg.log" --bind 127.0.0.1 --port "$port" --state-dir "$state" \
  --stream a=tone:440 --stream b=tone:1000
token=$(head -1 "$state/api-token")
AUTH="Authorization: Bearer $token"
JSON="Content-Type: application/json"
url="http://127.0.0.1:$port/stream.ogg"
api="http://127.0.0.1:$port/api/v1"


# ---- 1. what ffprobe says ------------------------------------------------------------------------
probe=$(timeout 15 ffprobe -v error -show_streams -show_format -of json "$url?stream=b") || lc_fail "ffprobe failed"
python3 - "$probe" <<'PY' || lc_fail "ffprobe: $probe"
import json, sys
p = json.loads(sys.argv[1]); s = p["streams"][0]
assert s["codec_name"] == "opus" and s["sample_rate"] == "48000" and s["channels"] == 2, s
tags = {k.lower(): v for k, v in {**p["format"].get("tags", {}), **s.get("tags", {})}.items()}
assert tags.get("title") == "b", tags
assert p["format"]["format_name"] == "ogg", p["format"]
PY
lc_pass "ffprobe: Ogg Opus, 48000 Hz, 2 channels, titled 'b'"

# ---- 2. each stream's tone ---------------------------------------------------------------------------
read -r fa ra _ <<<"$(lc_decode_tone 2 "$url?stream=a")"
read -r fb rb _ <<<"$(lc_decode_tone 2 "$url?stream=b")"
python3 -c "import sys; fa,fb,ra=map(float,sys.argv[1:]); assert abs(fa-440)<3 and abs(fb-1000)<3 and ra>0.05" "$fa" "$fb" "$ra" ||
  lc_fail "decoded $fa Hz (rms $ra) from a, $fb Hz from b"
lc_pass "ffmpeg decodes stream a at $fa Hz, stream b at $fb Hz"

# ---- 3. a session ---------------------------------------------------------------------------------------
S=5e55e55e-1111-4111-8111-111111111111
curl -sf -X PUT -H "$AUTH" -H "$JSON" -d '{"stream":"b","name":"kitchen radio"}' "$api/sessions/$S" >/dev/null || lc_fail "PUT session"
timeout 12 ffmpeg -nostdin -v error -i "$url?session=$S" -t 4 -f null - &
player=$!
sleep 2.5
body=$(curl -sf -H "$AUTH" "$api/sessions/$S") || lc_fail "GET session"
python3 - "$body" <<'PY' || lc_fail "the session while ffmpeg reads: $body"
import json, sys
s = json.loads(sys.argv[1])
assert s["connected"] and s["connections"] == 1 and s["output"] == "ogg" and s["packets_sent"] > 50, s
assert s["stream"] == "b" and s["remote_address"] == "127.0.0.1", s
PY
m=$(curl -sf "http://127.0.0.1:$port/metrics")
grep -q '^loopcast_listeners 1$' <<<"$m" && grep -q '^loopcast_stream_listeners{stream="b"} 1$' <<<"$m" ||
  lc_fail "metrics while ffmpeg reads: $(grep listeners <<<"$m")"
wait $player || lc_fail "ffmpeg reading the session's stream failed"
lc_pass "?session=: the API shows it connected (output ogg, packets counted), /metrics a listener on b"
read -r fs _ _ <<<"$(lc_decode_tone 2 "$url?session=$S")"
python3 -c "import sys; assert abs(float(sys.argv[1])-1000)<3" "$fs" || lc_fail "without ?stream= the session's stream b: $fs Hz"
curl -sf -X PATCH -H "$AUTH" -H "$JSON" -d '{"muted":true}' "$api/sessions/$S" >/dev/null || lc_fail "PATCH muted"
t0=$(date +%s.%N)
read -r _ rm secs <<<"$(lc_decode_tone 3 "$url?session=$S")"
t1=$(date +%s.%N)
python3 -c "import sys; rm,secs,a,b=map(float,sys.argv[1:]); assert rm<0.001 and secs>2.9 and b-a<6" "$rm" "$secs" "$t0" "$t1" ||
  lc_fail "muted: rms $rm over $secs s decoded between $t0 and $t1"
lc_pass "the session's stream b without ?stream= ($fs Hz); muted: silence (rms $rm), 3 s in real time"

# ---- 4. bad input ------------------------------------------------------------------------------------------
code=$(curl -s -o "$LC_TMP/b" -w '%{http_code}' "$url?stream=nope")
[[ $code == 404 ]] && grep -q '"not_found"' "$LC_TMP/b" || lc_fail "unknown stream: $code $(cat "$LC_TMP/b")"
code=$(curl -s -o "$LC_TMP/b" -w '%{http_code}' "$url?session=xyz")
[[ $code == 400 ]] && grep -q '"invalid_session"' "$LC_TMP/b" || lc_fail "bad session: $code $(cat "$LC_TMP/b")"
ct=$(curl -sI --max-time 3 "$url" | tr -d '\r' | awk -F': ' 'tolower($1)=="content-type"{print $2}')
[[ $ct == audio/ogg ]] || lc_fail "HEAD content-type: '$ct'"
lc_pass "unknown stream 404, malformed session 400 (JSON); HEAD audio/ogg"

# ---- 5. SIGTERM with a player connected ---------------------------------------------------------------------
timeout 20 ffmpeg -nostdin -v error -i "$url" -f null - 2>/dev/null &
sleep 1.5
lc_stop_server TERM || lc_fail "exit status after SIGTERM with a /stream.ogg listener"
wait
lc_pass "SIGTERM with a player connected: exit 0"
