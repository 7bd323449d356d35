/*
 * rtp.c — the sender: one thread per --rtp target. Every 5 ms it sends what the ring has as RTP
 * packets on a non-blocking UDP socket, and every LC_RTP_SR_INTERVAL_MS an RTCP sender report on
 * a second one to PORT+1. Without a socket (the name did not resolve) it tries again every 5 s and
 * keeps its cursor at live, so a target that appears gets live audio, not a backlog.
 */
#include "rtp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "platform.h"

#define LOG_MOD "rtp"
#define TICK_NS 5000000ull
#define RETRY_NS 5000000000ull
#define NO_SOCK ((intptr_t)-1)
#define CLEAR_NS 2000000000ull /* error-free this long: the target counts as taking the stream */

struct lc_rtp {
    lc_rtp_config cfg; /* immutable after start */
    char cname[128];
    lc_runner *runner; /* set before its thread starts */
    lc_mutex *mu;

    /* mu: written by the sender thread, read by anyone (lc_rtp_status_get). */
    lc_rtp_status st;

    /* the sender thread only. */
    intptr_t rtp_sock, rtcp_sock;
    uint16_t seq;
    uint32_t ts_base;
    bool first;
    uint64_t last_pts, last_capture_ns; /* the newest packet sent: SR's RTP time from wall time */
    uint32_t sr_packets, sr_octets;     /* RFC 3550 counts: packets and payload octets */
    uint64_t last_error_ns;             /* the newest failed send or lookup */
};

void lc_rtp_status_get(lc_rtp *r, lc_rtp_status *out)
{
    lc_mutex_lock(r->mu);
    *out = r->st;
    lc_mutex_unlock(r->mu);
}

/* Records the outcome of a send or lookup (error "" = it went out); a change of state is
 * logged once and bumps `changes`. A target that answers "port unreachable" fails every other
 * send (the kernel reports the ICMP on the next one), so it counts as sending again only after
 * CLEAR_NS without an error. */
static void note(lc_rtp *r, const char *error)
{
    uint64_t now = lc_plat_now_ns();
    if (error[0])
        r->last_error_ns = now;
    else if (r->st.error[0] && now - r->last_error_ns < CLEAR_NS)
        return; /* not long enough without one */
    bool sending = !error[0];
    lc_mutex_lock(r->mu);
    bool changed = r->st.sending != sending || strcmp(r->st.error, error);
    r->st.sending = sending;
    snprintf(r->st.error, sizeof r->st.error, "%s", error);
    if (changed)
        r->st.changes++;
    lc_mutex_unlock(r->mu);
    if (!changed)
        return;
    if (error[0])
        lc_log(LC_LOG_WARN, LOG_MOD, "%s: %s (still trying)",
               r->cfg.url.shown, error);
    else
        lc_log(LC_LOG_INFO, LOG_MOD, "%s: sending (SSRC %08x)", r->cfg.url.shown, r->st.ssrc);
}

static void close_socks(lc_rtp *r)
{
    if (r->rtp_sock != NO_SOCK)
        lc_plat_socket_close(r->rtp_sock);
    if (r->rtcp_sock != NO_SOCK)
        lc_plat_socket_close(r->rtcp_sock);
    r->rtp_sock = r->rtcp_sock = NO_SOCK;
}

static bool open_socks(lc_rtp *r)
{
    char why[160];
    if (lc_plat_udp_open(r->cfg.url.host, r->cfg.url.port, &r->rtp_sock, why, sizeof why) ||
        lc_plat_udp_open(r->cfg.url.host, r->cfg.url.port + 1, &r->rtcp_sock, why, sizeof why)) {
        close_socks(r);
        note(r, why);
        return false;
    }
    return true;
}

static void send_report(lc_rtp *r)
{
    uint8_t buf[300];
    char why[160];
    /* RTP time of "now": the newest packet's, moved on by the time since its capture */
    uint64_t now = lc_plat_now_ns();
    uint64_t since = now > r->last_capture_ns ? now - r->last_capture_ns : 0;
    uint32_t ts = r->ts_base + (uint32_t)(r->last_pts + since * 48000u / 1000000000u);
    size_t n = lc_rtcp_sender_report(buf, sizeof buf, r->st.ssrc,
                                     lc_rtp_ntp_from_unix_ns(lc_plat_wall_ns()), ts,
                                     r->sr_packets, r->sr_octets, r->cname);
    if (n && !lc_plat_udp_send(r->rtcp_sock, buf, n, why, sizeof why)) {
        lc_mutex_lock(r->mu);
        r->st.reports_sent++;
        lc_mutex_unlock(r->mu);
    }
}

/* Sends every packet the ring has now. The ring's message (its 24-byte header, then the Opus
 * packet) is copied to pkt[0..]; once parsed, the RTP header is written over the last 12 bytes of
 * the ring's, so the datagram is pkt[12..] as it stands: no second copy. */
#define RTP_AT (LC_STREAM_HEADER_LEN - LC_RTP_HEADER_LEN)
static void pump(lc_rtp *r, uint64_t *cursor, uint8_t *pkt)
{
    size_t len;
    uint32_t dropped;
    while (!lc_stream_read(r->cfg.ring, cursor, pkt, LC_STREAM_MAX_PACKET, &len, &dropped)) {
        lc_stream_header h;
        if (lc_stream_header_parse(pkt, len, &h) || h.header_len != LC_STREAM_HEADER_LEN ||
            len == h.header_len)
            continue;
        size_t opus = len - h.header_len;
        lc_rtp_header(pkt + RTP_AT, r->first, LC_RTP_PT_OPUS, r->seq,
                      r->ts_base + (uint32_t)h.pts, r->st.ssrc);
        char why[160];
        int rc = lc_plat_udp_send(r->rtp_sock, pkt + RTP_AT, LC_RTP_HEADER_LEN + opus, why,
                                  sizeof why);
        r->seq++; /* a datagram the socket could not take is a loss the receiver sees as one */
        r->last_pts = h.pts;
        r->last_capture_ns = h.capture_ns;
        lc_mutex_lock(r->mu);
        r->st.packets_dropped += dropped;
        if (rc == 0) {
            r->st.packets_sent++;
            r->st.bytes_sent += LC_RTP_HEADER_LEN + opus;
        } else {
            r->st.send_errors++;
        }
        lc_mutex_unlock(r->mu);
        if (rc == 0) {
            r->first = false;
            r->sr_packets++;
            r->sr_octets += (uint32_t)opus;
            note(r, "");
        } else if (rc != LC_ERR_AGAIN) {
            note(r, why); /* e.g. port unreachable: UDP goes on, the error is shown */
        }
    }
}

static void run(lc_runner *rn, void *arg)
{
    lc_rtp *r = arg;
    uint8_t *pkt = malloc(LC_STREAM_MAX_PACKET);
    if (!pkt) {
        lc_log(LC_LOG_ERROR, LOG_MOD, "%s: out of memory, not sending", r->cfg.url.shown);
        return;
    }
    uint64_t cursor = lc_stream_cursor_new(r->cfg.ring);
    uint64_t next_try = 0, next_report = 0;
    for (;;) {
        uint64_t now = lc_plat_now_ns();
        if (r->rtp_sock == NO_SOCK && now >= next_try) {
            next_try = now + RETRY_NS;
            cursor = lc_stream_cursor_new(r->cfg.ring); /* live from here, no backlog */
            if (open_socks(r))
                next_report = now; /* a report at once: receivers map the time from the start */
        }
        if (r->rtp_sock != NO_SOCK) {
            pump(r, &cursor, pkt);
            if (now >= next_report && r->sr_packets) {
                send_report(r);
                next_report = now + (uint64_t)LC_RTP_SR_INTERVAL_MS * 1000000u;
            }
        }
        if (lc_runner_sleep_until(rn, lc_plat_now_ns() + TICK_NS))
            break;
    }
    close_socks(r);
    free(pkt);
}

int lc_rtp_start(lc_rtp **out, const lc_rtp_config *cfg)
{
    *out = NULL;
    lc_rtp *r = calloc(1, sizeof *r);
    if (!r)
        return LC_ERR_NOMEM;
    r->cfg = *cfg;
    snprintf(r->cname, sizeof r->cname, "%s", cfg->cname ? cfg->cname : "loopcast");
    r->cfg.cname = r->cname;
    r->rtp_sock = r->rtcp_sock = NO_SOCK;
    r->first = true;
    /* random SSRC, first sequence number and timestamp base (RFC 3550 §5.1) */
    uint8_t rnd[10];
    int rc = LC_ERR_SYSTEM;
    if (RAND_bytes(rnd, sizeof rnd) != 1)
        goto fail;
    memcpy(&r->st.ssrc, rnd, 4);
    memcpy(&r->ts_base, rnd + 4, 4);
    memcpy(&r->seq, rnd + 8, 2);
    rc = LC_ERR_NOMEM;
    if (lc_mutex_create(&r->mu, LC_MUTEX_PLAIN))
        goto fail;
    rc = LC_ERR_IO;
    if (lc_runner_start(&r->runner, run, r))
        goto fail;
    *out = r;
    return 0;
fail:
    lc_mutex_destroy(r->mu);
    free(r);
    return rc;
}

void lc_rtp_stop(lc_rtp *r)
{
    if (!r)
        return;
    lc_runner_stop(r->runner);
    lc_mutex_destroy(r->mu);
    free(r);
}
