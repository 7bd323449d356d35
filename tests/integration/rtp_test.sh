#!/usr/bin/env bash
# --rtp / --rtp-sdp (issue 15) with a real receiver and on the wire:
#   1. bad input: a wrong scheme, a port out of 1..65534 or none, an unknown stream, more
#      --rtp-sdp files than --rtp targets → exit 2 naming the flag;
#   2. on the wire (a UDP socket of ours on PORT and PORT+1): RTP version 2, payload type 111, one
#      SSRC, sequence numbers +1 and timestamps +960 a packet (20 ms at 48 kHz), the marker on
#      the first; an RTCP compound packet of a sender report (same SSRC, NTP time within 2 s of
#      now, its RTP time matching the packets') and SDES with a CNAME;
#   3. ffmpeg reading each written SDP decodes its stream's tone (a: 440 Hz, b: 1000 Hz), while
#      WebSocket listeners get every packet; GET /status lists the targets (ssrc, sdp, counters),
#      a target with nothing listening says "port unreachable" there, in /metrics
#      (loopcast_rtp_up 0) and in an `rtp` event, and /readyz stays ready;
#   4. LOOPCAST_RTP and LOOPCAST_RTP_SDP hold several values separated by spaces; SIGTERM exits 0.
# (Janus + Chromium over WebRTC: tests/browser/janus.test.mjs.)
source "$(dirname "$0")/../lib.sh"
command -v ffmpeg >/dev/null || lc_fail "ffmpeg needed (deploy/install-deps.sh)"
command -v python3 >/dev/null || lc_fail "python3 needed"
node_bin=$(command -v node) || lc_fail "node not found"
[[ -x "${LC_BENCH:-}" ]] || lc_fail "LC_BENCH (loopcast-bench) not set"
port=$(lc_free_port)

# ---- 1. bad input ------------------------------------------------------------------------------
bad() { # FLAG EXPECTED-TEXT ARGS...
  local flag=$1 want=$2 out rc; shift 2
  out=$("$LOOPCAST_BIN" --source tone:440 --port "$port" "$@" 2>&1); rc=$?
  [[ $rc == 2 && $out == *"$flag"*"$want"* ]] || lc_fail "loopcast $* → rc $rc: $out"
}
bad --rtp "rtp://" --rtp "udp://127.0.0.1:5004"
bad --rtp "1..65534" --rtp "rtp://127.0.0.1:65535"
bad --rtp "1..65534" --rtp "rtp://127.0.0.1:0"
bad --rtp "no port" --rtp "rtp://127.0.0.1"
bad --rtp "no user, path or query" --rtp "rtp://127.0.0.1:5004/x"
bad --rtp "no stream called 'nope'" --rtp "nope=rtp://127.0.0.1:5004"
bad --rtp-sdp "more files than --rtp targets" --rtp "rtp://127.0.0.1:5004" --rtp-sdp a.sdp --rtp-sdp b.sdp
lc_pass "bad --rtp/--rtp-sdp values: exit 2 naming the flag (scheme, port 0/65535/none, path, stream, pairing)"

# ---- 2. on the wire -------------------------------------------------------------------------------
wire_port=$(lc_free_port); while ((wire_port % 2)); do wire_port=$(lc_free_port); done
a_port=$(lc_free_port); b_port=$(lc_free_port); dead_port=$(lc_free_port)
python3 - "$wire_port" >"$LC_TMP/wire.txt" 2>&1 <<'PY' &
# Receives 60 RTP packets on PORT and the first RTCP packet on PORT+1; prints what it checked.
import socket, struct, sys, time
port = int(sys.argv[1])
rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); rtp.bind(('127.0.0.1', port))
rtcp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); rtcp.bind(('127.0.0.1', port + 1))
rtp.settimeout(10); rtcp.settimeout(10)
pk = []
for _ in range(60):
    d = rtp.recv(2000)
    b0, b1, seq, ts, ssrc = struct.unpack('!BBHII', d[:12])
    pk.append((b0 >> 6, b1 >> 7, b1 & 0x7f, seq, ts, ssrc, len(d) - 12, time.time()))
first = pk[0]
assert all(p[0] == 2 and p[2] == 111 and p[5] == first[5] and p[6] > 0 for p in pk), pk[:3]
assert all((b[3] - a[3]) % 65536 == 1 and (b[4] - a[4]) % 2**32 == 960 for a, b in zip(pk, pk[1:])), pk[:5]
assert first[1] == 1 and not any(p[1] for p in pk[1:]), 'the marker is on the first packet only'
d = rtcp.recv(2000); now = time.time()
b0, pt, words, ssrc, ntp_s, ntp_f, rts, pcount, octets = struct.unpack('!BBHIIIIII', d[:28])
assert b0 >> 6 == 2 and pt == 200 and words == 6 and ssrc == first[5], (b0, pt, words, ssrc)
ntp = ntp_s - 2208988800 + ntp_f / 2**32
assert abs(ntp - now) < 2, (ntp, now)
s0, spt, swords, sssrc, item, ilen = struct.unpack('!BBHIBB', d[28:38])
cname = d[38:38 + ilen].decode()
assert spt == 202 and sssrc == ssrc and item == 1 and cname.startswith('loopcast@'), (spt, item, cname)
assert 28 + 4 * (swords + 1) == len(d), len(d)
# the SR's RTP time is "now" on the packets' clock: the newest packet's timestamp moved on by the
# time since it arrived, within 100 ms (it maps capture time: a packet arrives a frame and an
# encode after its first sample was captured, so ~+25 ms is expected; both clocks are ours)
newest = pk[-1]
expect = (newest[4] + round((ntp - newest[7]) * 48000)) % 2**32
drift = ((rts - expect + 2**31) % 2**32 - 2**31) / 48
assert abs(drift) < 100, ('SR RTP time off by ms', drift)
print('ok ssrc=%08x cname=%s sr_packets=%d sr_drift_ms=%.1f payload=%d' % (ssrc, cname, pcount, drift, first[6]))
PY
wire=$!
sleep 0.3
lc_start_server "$LC_TMP/lc.log" --bind 127.0.0.1 --port "$port" --state-dir "$LC_TMP/state" \
  --mdns off --stream a=tone:440 --stream b=tone:1000 \
  --rtp "rtp://127.0.0.1:$wire_port" --rtp "rtp://127.0.0.1:$a_port" --rtp "b=rtp://127.0.0.1:$b_port" \
  --rtp "rtp://127.0.0.1:$dead_port" \
  --rtp-sdp "$LC_TMP/wire.sdp" --rtp-sdp "$LC_TMP/a.sdp" --rtp-sdp "$LC_TMP/b.sdp"
token=$(cat "$LC_TMP/state/api-token")
"$node_bin" - "$port" "$token" "$dead_port" >"$LC_TMP/events.txt" 2>&1 <<JS &
import('$(dirname "$(readlink -f "$0")")/ws_lib.mjs').then(async ({ client }) => {
  const [port, token, dead] = process.argv.slice(2);
  const E = client('ws://127.0.0.1:' + port + '/api/v1/events', 'loopcast.events.v1');
  await E.open;
  E.ws.send(JSON.stringify({ type: 'auth', token }));
  const h = await E.wait((j) => j.type === 'hello', 3000);
  const pred = (j) => j.type === 'rtp' && j.rtp.url.endsWith(':' + dead) && !j.rtp.sending && j.rtp.error;
  const seen = (h && h.j.status.rtp.some((t) => pred({ type: 'rtp', rtp: t }))) ? h : await E.wait(pred, 8000);
  console.log(seen ? 'dead ' + (seen.j.rtp ? seen.j.rtp.error : 'in hello') : 'none');
  process.exit(0);
});
JS
events=$!
wait $wire || lc_fail "RTP/RTCP on the wire: $(cat "$LC_TMP/wire.txt")"
lc_pass "on the wire: $(cat "$LC_TMP/wire.txt") — v2, PT 111, seq +1, ts +960, marker first; SR + SDES"

# ---- 3. ffmpeg through the SDP, listeners beside it, status, metrics, events ----------------------------
grep -q "^m=audio $a_port RTP/AVP 111" "$LC_TMP/a.sdp" && grep -q '^a=rtpmap:111 opus/48000/2' "$LC_TMP/a.sdp" ||
  lc_fail "a.sdp: $(cat "$LC_TMP/a.sdp")"
"$LC_BENCH" listeners --port "$port" -n 4 --decode 2 --expect-hz 440 --no-drops --max-gap-ms 200 \
  --warmup 0.5 --seconds 4 --quiet >"$LC_TMP/bench.txt" 2>&1 &
bench=$!
read -r fa ra _ <<<"$(lc_decode_tone 2 "$LC_TMP/a.sdp" -protocol_whitelist file,udp,rtp)"
read -r fb _ _ <<<"$(lc_decode_tone 2 "$LC_TMP/b.sdp" -protocol_whitelist file,udp,rtp)"
python3 -c "import sys; fa,ra,fb=map(float,sys.argv[1:]); assert abs(fa-440)<3 and ra>0.05 and abs(fb-1000)<3" "$fa" "$ra" "$fb" ||
  lc_fail "ffmpeg through the SDPs: a $fa Hz (rms $ra), b $fb Hz"
wait $bench || { cat "$LC_TMP/bench.txt"; lc_fail "WebSocket listeners while sending RTP (full rate, 440 Hz, no drop)"; }
lc_pass "ffmpeg reading a.sdp hears $fa Hz, b.sdp $fb Hz; 4 WebSocket listeners at full rate meanwhile"
status=$(curl -sf -H "Authorization: Bearer $token" "http://127.0.0.1:$port/api/v1/status") || lc_fail "GET status"
python3 - "$status" "$LC_TMP" <<'PY' || lc_fail "status.rtp: $status"
import json, sys
r = json.loads(sys.argv[1])["rtp"]
assert [t["stream"] for t in r] == ["a", "a", "b", "a"], r
assert [t["sdp"] for t in r] == [sys.argv[2] + "/wire.sdp", sys.argv[2] + "/a.sdp", sys.argv[2] + "/b.sdp", None], r
assert all(len(t["ssrc"]) == 8 for t in r) and len({t["ssrc"] for t in r}) == 4, r
assert r[1]["packets_sent"] > 100 and r[1]["reports_sent"] >= 1, r[1]
assert not r[3]["sending"] and "port unreachable" in r[3]["error"], r[3]
PY
wait $events
grep -q '^dead .*port unreachable\|^dead in hello' "$LC_TMP/events.txt" || lc_fail "events: $(cat "$LC_TMP/events.txt")"
m=$(curl -sf "http://127.0.0.1:$port/metrics")
grep -q "^loopcast_rtp_up{target=\"rtp://127.0.0.1:$dead_port\",stream=\"a\"} 0$" <<<"$m" &&
  grep -Eq "^loopcast_rtp_packets_sent_total\{target=\"rtp://127.0.0.1:$b_port\",stream=\"b\"\} [1-9]" <<<"$m" ||
  lc_fail "metrics: $(grep loopcast_rtp_ <<<"$m")"
curl -sf "http://127.0.0.1:$port/readyz" >/dev/null || lc_fail "/readyz not ready beside a refused RTP target"
grep -q "rtp://127.0.0.1:$dead_port: the target answered port unreachable" "$LC_TMP/lc.log" ||
  lc_fail "no log line for the refused target"
n=$(grep -c "rtp://127.0.0.1:$dead_port: the target answered port unreachable" "$LC_TMP/lc.log")
((n == 1)) || lc_fail "the refused target is logged $n times, not once"
lc_pass "status (ssrc, sdp, counters), metrics, an 'rtp' event and one log line for the refused target; /readyz ready"
lc_stop_server TERM || lc_fail "exit status after SIGTERM"

# ---- 4. the variables -------------------------------------------------------------------------------
LOOPCAST_RTP="rtp://127.0.0.1:$a_port  b=rtp://127.0.0.1:$b_port" LOOPCAST_RTP_SDP="$LC_TMP/a2.sdp $LC_TMP/b2.sdp" \
  lc_start_server "$LC_TMP/env.log" --bind 127.0.0.1 --port "$port" --state-dir "$LC_TMP/state" \
  --mdns off --stream a=tone:440 --stream b=tone:1000
read -r fb _ _ <<<"$(lc_decode_tone 2 "$LC_TMP/b2.sdp" -protocol_whitelist file,udp,rtp)"
python3 -c "import sys; assert abs(float(sys.argv[1])-1000)<3" "$fb" || lc_fail "LOOPCAST_RTP's b target: $fb Hz"
lc_stop_server TERM || lc_fail "exit status after SIGTERM"
lc_pass "LOOPCAST_RTP / LOOPCAST_RTP_SDP: two targets and their SDPs; ffmpeg hears $fb Hz from the second"
