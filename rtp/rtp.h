/*
 * rtp.h — one stream sent as Opus over RTP (RFC 3550, RFC 7587) to a UDP target (issue 15,
 * --rtp): for a WebRTC SFU such as Janus, which serves it to thousands of browsers at
 * sub-second latency, or any RTP receiver (ffmpeg, GStreamer) through the SDP --rtp-sdp writes.
 *
 * Wire: one Opus packet per RTP packet, payload type 111, the 48 kHz timestamp = a random base +
 * the packet's pts (so a skipped stretch shows as a timestamp jump, as RTP expects), sequence
 * numbers from a random start, a random SSRC, the marker bit on the first packet. RTCP sender
 * reports (SR + SDES CNAME, RFC 3550 §6.4.1) go to PORT+1 every 5 s (the first at once): they map
 * RTP time to wall-clock (NTP) time through the packets' capture times, so receivers can line up
 * what they play with other sources.
 *
 * Each sender is one thread of its own reading its stream's ring like a listener every 5 ms:
 * UDP sends never block it (a full socket buffer drops that datagram, counted), and capture and
 * the WebSocket listeners never wait for it. A name that does not resolve, or a target that
 * answers "port unreachable", is logged (once per change) and retried every 5 s.
 *
 * The URL parser and the packet/SDP writers are pure; the parser is fuzzed (fuzz_rtp_url).
 */
#ifndef LC_RTP_H
#define LC_RTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "stream.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LC_RTP_PT_OPUS 111         /* the dynamic payload type used for Opus (SDP says so) */
#define LC_RTP_HEADER_LEN 12
#define LC_RTP_SR_INTERVAL_MS 5000 /* RFC 3550's minimum RTCP interval */

typedef struct lc_rtp_url {
    char host[256];   /* a name or an address (an IPv6 one without brackets) */
    unsigned port;    /* 1..65534: RTCP goes to port + 1 */
    char shown[300];  /* rtp://host:port ([v6]:port) */
} lc_rtp_url;

/* rtp://HOST:PORT (an IPv6 address in brackets). 0, or LC_ERR_INVALID with why[] set. */
int lc_rtp_url_parse(const char *url, lc_rtp_url *out, char *why, size_t whylen);

/* The 12-byte RTP header (version 2, no padding, extension or CSRC). */
void lc_rtp_header(uint8_t out[LC_RTP_HEADER_LEN], bool marker, uint8_t pt, uint16_t seq,
                   uint32_t ts, uint32_t ssrc);

/* A compound RTCP packet: a sender report (no report blocks) then SDES with the CNAME. Its
 * length, or 0 if cap is too small. `ntp` is NTP time (seconds since 1900 << 32 | fraction). */
size_t lc_rtcp_sender_report(uint8_t *out, size_t cap, uint32_t ssrc, uint64_t ntp,
                             uint32_t rtp_ts, uint32_t packets, uint32_t octets,
                             const char *cname);

/* NTP time of a wall-clock time in ns since 1970 (lc_plat_wall_ns). */
uint64_t lc_rtp_ntp_from_unix_ns(int64_t unix_ns);

typedef struct lc_rtp_sdp_info {
    const lc_rtp_url *url;
    const char *name;      /* s= (the stream's name, shown by players) */
    unsigned channels;     /* 1 or 2: sprop-stereo */
    double frame_ms;       /* a=ptime */
    uint64_t session_id;   /* o= */
} lc_rtp_sdp_info;

/* The SDP (RFC 4566, RFC 7587 §7) a receiver needs: its length, or LC_ERR_LIMIT. */
int lc_rtp_sdp(char *out, size_t cap, const lc_rtp_sdp_info *info);

typedef struct lc_rtp_config {
    lc_rtp_url url;
    const lc_stream *ring; /* the stream's packet ring (outlives the sender) */
    const char *cname;     /* RTCP CNAME, e.g. loopcast@HOST */
} lc_rtp_config;

typedef struct lc_rtp_status {
    uint32_t ssrc;
    bool sending;          /* the last datagram went out */
    char error[192];       /* why the last send or name lookup failed; "" = none */
    uint64_t changes;      /* bumped when `sending` or `error` changes (a poller's cue) */
    uint64_t packets_sent, packets_dropped, bytes_sent, send_errors, reports_sent;
} lc_rtp_status;

typedef struct lc_rtp lc_rtp;

/* Starts the sender's thread. LC_ERR_NOMEM, LC_ERR_IO if the thread cannot start. */
int lc_rtp_start(lc_rtp **out, const lc_rtp_config *cfg);
void lc_rtp_status_get(lc_rtp *r, lc_rtp_status *out);
/* Stops (within ~5 ms, or the end of a name lookup) and frees. NULL is a no-op. */
void lc_rtp_stop(lc_rtp *r);

#ifdef __cplusplus
}
#endif
#endif
