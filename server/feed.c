/*
 * feed.c — the streams (issue 14): one feed per --stream (or --source), each its own capture
 * thread → Opus encoder → packet ring, so a house can carry the TV and a radio at once and every
 * listener reads the ring of the stream it hears.
 *
 * Each feed encodes once whatever its listener count; a feed whose source fails keeps sending
 * packets of silence (the capture keep-alive), so its listeners stay connected while the other
 * feeds are untouched. The capture thread's whole job per packet is on_packet(): copy ~300 bytes
 * into its feed's ring slot, store a timestamp, poke lws (lws_cancel_service). It never touches a
 * socket, a lock the lws thread holds, or the allocator.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define READY_WINDOW_NS (2000u * 1000000ull)

_Static_assert(LC_STREAM_NAME_MAX == LC_SESSION_STREAM_MAX, "a session names a stream");

/* Runs on the feed's capture thread inside lc_opus_push(). */
static void on_packet(void *user, const lc_opus_packet *pkt)
{
    lc_feed *f = user;
    if (lc_stream_publish_audio(f->ring, (uint32_t)pkt->seq, pkt->pts, pkt->capture_ns,
                                pkt->data, pkt->len))
        atomic_fetch_add_explicit(&f->publish_errors, 1, memory_order_relaxed);
    atomic_store_explicit(&f->last_packet_ns, lc_now_ns(), memory_order_relaxed);
    /* Wakes every worker; wakes coalesce, so the woken side drains every feed's pending. */
    lc_workers_wake_all(f->srv);
}

/* What a failure of this stream's source says first: the flag that named it. */
static void name_flag(const lc_feed *f, char *errbuf, size_t errlen)
{
    char why[512];
    snprintf(why, sizeof why, "%s", errbuf);
    if (f->def->from_source)
        lc_errf(errbuf, errlen, "--source: %s", why);
    else
        lc_errf(errbuf, errlen, "--stream %s: %s", f->def->name, why);
}

static int feed_open(lc_server *srv, lc_feed *f, char *errbuf, size_t errlen)
{
    const lc_config *cfg = &srv->cfg;
    int rc = lc_capture_open(&f->cap, f->def->uri, errbuf, errlen);
    if (rc) {
        name_flag(f, errbuf, errlen);
        return rc;
    }
    lc_opus_config oc;
    lc_opus_config_default(&oc);
    oc.frame_us = cfg->frame_us;
    oc.application = lc_opus_app_for_frame(cfg->frame_us);
    oc.bitrate = cfg->bitrate;
    oc.complexity = cfg->complexity;
    rc = lc_opus_create(&f->enc, &oc, on_packet, f, errbuf, errlen);
    if (rc)
        return rc;
    lc_stream_config sc;
    lc_stream_config_default(&sc);
    sc.max_lag = srv->max_lag_packets;
    sc.slots = lc_stream_slots_for(srv->max_lag_packets * 2 < 64 ? 64 : srv->max_lag_packets * 2);
    rc = lc_stream_create(&f->ring, &sc);
    if (rc)
        lc_errf(errbuf, errlen, "stream %s: packet ring: %s", f->def->name, lc_strerror(rc));
    return rc;
}

int lc_feeds_create(lc_server *srv, char *errbuf, size_t errlen)
{
    const lc_config *cfg = &srv->cfg;
    /* Ring: max lag in packets from --max-lag-ms; twice that many slots (the headroom rule in
     * stream.c), at least 64 (a burst after a stall never laps a reader that keeps up). */
    uint32_t lag = (uint32_t)(((uint64_t)cfg->max_lag_ms * 1000u + cfg->frame_us - 1) /
                              cfg->frame_us);
    if (lag < 2)
        lag = 2;
    uint32_t slots = lc_stream_slots_for(lag * 2 < 64 ? 64 : lag * 2);
    srv->max_lag_packets = lag > slots / 2 ? slots / 2 : lag;

    srv->feeds = calloc(cfg->n_streams, sizeof *srv->feeds);
    if (!srv->feeds)
        return LC_ERR_NOMEM;
    srv->n_feeds = (unsigned)cfg->n_streams; /* at most LC_CONFIG_MAX_STREAMS */
    for (unsigned i = 0; i < srv->n_feeds; i++) {
        lc_feed *f = &srv->feeds[i];
        f->srv = srv;
        f->def = &srv->cfg.streams[i];
        f->index = i;
        f->tap_id = -1;
        atomic_init(&f->last_packet_ns, 0);
        atomic_init(&f->publish_errors, 0);
        int rc = feed_open(srv, f, errbuf, errlen);
        if (rc)
            return rc;
    }
    return 0;
}

int lc_feeds_start(lc_server *srv)
{
    for (unsigned i = 0; i < srv->n_feeds; i++) {
        lc_feed *f = &srv->feeds[i];
        /* While the source is lost, listeners get packets of silence, not a stall (capture.h). */
        lc_capture_set_keepalive(f->cap, true);
        int rc = lc_capture_add_tap(f->cap, lc_opus_tap, f->enc);
        if (rc < 0) {
            lc_log(LC_LOG_ERROR, LC_LOG_MOD, "stream %s: capture tap: %s", f->def->name,
                   lc_strerror(rc));
            return rc;
        }
        f->tap_id = rc;
        rc = lc_capture_start(f->cap);
        if (rc) {
            lc_log(LC_LOG_ERROR, LC_LOG_MOD, "stream %s: capture start: %s", f->def->name,
                   lc_strerror(rc));
            return rc;
        }
        f->capture_started = true;
        f->src_state = lc_feed_state(f, f->src_error, sizeof f->src_error);
        lc_log(LC_LOG_INFO, LC_LOG_MOD, "stream %s: %s", f->def->name, lc_capture_uri(f->cap));
    }
    return 0;
}

void lc_feeds_stop(lc_server *srv)
{
    for (unsigned i = 0; srv->feeds && i < srv->n_feeds; i++) {
        lc_feed *f = &srv->feeds[i];
        if (f->cap)
            lc_capture_stop(f->cap);
        f->capture_started = false;
    }
}

void lc_feeds_destroy(lc_server *srv)
{
    for (unsigned i = 0; srv->feeds && i < srv->n_feeds; i++) {
        lc_feed *f = &srv->feeds[i];
        lc_capture_close(f->cap);
        lc_opus_destroy(f->enc);
        lc_stream_destroy(f->ring);
    }
    free(srv->feeds);
    srv->feeds = NULL;
    srv->n_feeds = 0;
}

lc_feed *lc_feed_find(lc_server *srv, const char *name)
{
    for (unsigned i = 0; name && i < srv->n_feeds; i++)
        if (!strcmp(srv->feeds[i].def->name, name))
            return &srv->feeds[i];
    return NULL;
}

lc_feed *lc_feed_for(lc_server *srv, const char *name)
{
    lc_feed *f = lc_feed_find(srv, name);
    return f ? f : &srv->feeds[0];
}

lc_feed *lc_feed_heard(lc_server *srv, const lc_session_info *s, const lc_group_info *g)
{
    return lc_feed_for(srv, g ? g->stream : s->stream);
}

void lc_feed_listener_add(lc_feed *f, struct lws *wsi)
{
    lc_server *srv = f->srv;
    srv->listeners++;
    f->listeners++;
    lc_worker_of(wsi)->listeners++;
    srv->ws_accepted++;
    /* A small kernel send buffer bounds how much audio can queue behind a slow reader outside
     * our ring (see server.c). */
    lws_sockfd_type fd = lws_get_socket_fd(wsi);
    if (fd != LWS_SOCK_INVALID)
        lc_plat_socket_sndbuf((intptr_t)fd, srv->sndbuf);
}

void lc_feed_listener_remove(lc_feed *f, struct lws *wsi)
{
    lc_worker *w = lc_worker_of(wsi);
    if (f->srv->listeners)
        f->srv->listeners--;
    if (f->listeners)
        f->listeners--;
    if (w && w->listeners)
        w->listeners--;
}

lc_capture_state lc_feed_state(lc_feed *f, char *err, size_t errlen)
{
    lc_capture_state st = lc_capture_get_state(f->cap);
    err[0] = '\0';
    if (st != LC_CAPTURE_RUNNING) {
        lc_capture_stats cs;
        lc_capture_get_stats(f->cap, &cs);
        snprintf(err, errlen, "%s", cs.last_error);
    }
    return st;
}

int lc_feed_ready(lc_feed *f, char *reason, size_t reason_len)
{
    char err[160];
    lc_capture_state st = lc_feed_state(f, err, sizeof err);
    if (st != LC_CAPTURE_RUNNING) {
        lc_errf(reason, reason_len, "capture is %s%s%s", lc_capture_state_name(st),
                err[0] ? ": " : "", err);
        return 0;
    }
    uint64_t last = atomic_load_explicit(&f->last_packet_ns, memory_order_relaxed);
    uint64_t now = lc_now_ns();
    if (!last) {
        lc_errf(reason, reason_len, "no packet encoded yet");
        return 0;
    }
    if (now - last > READY_WINDOW_NS) {
        lc_errf(reason, reason_len, "no packet encoded for %.1f s", (double)(now - last) / 1e9);
        return 0;
    }
    lc_errf(reason, reason_len, "capture running, packets flowing");
    return 1;
}
