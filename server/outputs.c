/*
 * outputs.c — the engines loopcast feeds besides its own listeners: one Icecast pusher per
 * --icecast target (icecast/), one RTP sender per --rtp target (rtp/, its SDP written to the
 * paired --rtp-sdp file first). Started once every capture runs, stopped after the workers have
 * ended (so no API reader can see one go away). Their state is their own: in /metrics,
 * GET /api/v1/status and an `icecast`/`rtp` event at each change, never in /readyz — a lost
 * Icecast or SFU must not take loopcast's own listeners out of a load balancer.
 */
#include "internal.h"

#include <string.h>

void lc_feed_mux_config(lc_feed *f, lc_oggmux_config *out)
{
    lc_opus_stats st;
    lc_opus_get_stats(f->enc, &st);
    memset(out, 0, sizeof *out);
    out->channels = lc_opus_get_config(f->enc)->channels;
    out->pre_skip = st.lookahead;
    out->frame_samples = lc_opus_frame_samples(f->enc);
    out->title = f->def->name;
    out->vendor = "loopcast " LC_VERSION;
}

/* The target's SDP into its --rtp-sdp file, before the first packet. */
static int write_sdp(lc_server *srv, const lc_rtp_def *o, lc_feed *f)
{
    if (!o->sdp[0])
        return 0;
    char sdp[1024], why[512];
    lc_oggmux_config mc;
    lc_feed_mux_config(f, &mc);
    lc_rtp_sdp_info in = {.url = &o->url, .name = f->def->name, .channels = mc.channels,
                          .frame_ms = mc.frame_samples / 48.0,
                          .session_id = (uint64_t)lc_plat_wall_ns() / 1000000000u};
    int n = lc_rtp_sdp(sdp, sizeof sdp, &in);
    int rc = n < 0 ? n : lc_plat_file_commit(o->sdp, sdp, (size_t)n, LC_FILE_REPLACE, why, sizeof why);
    if (rc)
        lc_log(LC_LOG_ERROR, LC_LOG_MOD, "--rtp-sdp %s: %s", o->sdp, n < 0 ? lc_strerror(n) : why);
    (void)srv;
    return rc;
}

int lc_outputs_start(lc_server *srv)
{
    for (size_t i = 0; i < srv->cfg.n_icecast; i++) {
        const lc_output_def *o = &srv->cfg.icecast[i];
        lc_feed *f = lc_feed_find(srv, o->stream);
        lc_icecast_config c = {.url = o->url, .ring = f->ring, .name = srv->ice_name[i],
                               .description = "what this machine plays, live (loopcast)"};
        snprintf(srv->ice_name[i], sizeof srv->ice_name[i], "loopcast %s on %s", f->def->name,
                 srv->host[0] ? srv->host : "this machine");
        lc_feed_mux_config(f, &c.mux);
        int rc = lc_icecast_start(&srv->icecast[i], &c);
        if (rc) {
            lc_log(LC_LOG_ERROR, LC_LOG_MOD, "--icecast %s: %s", o->url.shown, lc_strerror(rc));
            return rc;
        }
        lc_log(LC_LOG_INFO, LC_LOG_MOD, "icecast: stream %s to %s", f->def->name, o->url.shown);
    }
    for (size_t i = 0; i < srv->cfg.n_rtp; i++) {
        const lc_rtp_def *o = &srv->cfg.rtp[i];
        lc_feed *f = lc_feed_find(srv, o->stream);
        int rc = write_sdp(srv, o, f);
        if (rc)
            return rc;
        char cname[300];
        snprintf(cname, sizeof cname, "loopcast@%s", srv->host[0] ? srv->host : "localhost");
        lc_rtp_config c = {.url = o->url, .ring = f->ring, .cname = cname};
        rc = lc_rtp_start(&srv->rtp[i], &c);
        if (rc) {
            lc_log(LC_LOG_ERROR, LC_LOG_MOD, "--rtp %s: %s", o->url.shown, lc_strerror(rc));
            return rc;
        }
        lc_log(LC_LOG_INFO, LC_LOG_MOD, "rtp: stream %s to %s (payload type %d%s%s)",
               f->def->name, o->url.shown, LC_RTP_PT_OPUS, o->sdp[0] ? ", SDP in " : "", o->sdp);
    }
    return 0;
}

void lc_outputs_stop(lc_server *srv)
{
    for (size_t i = 0; i < LC_CONFIG_MAX_OUTPUTS; i++) {
        lc_icecast_stop(srv->icecast[i]);
        srv->icecast[i] = NULL;
        lc_rtp_stop(srv->rtp[i]);
        srv->rtp[i] = NULL;
    }
}

/* Target i's `changes` counter moved since the last look: its event to every events client. */
static void poll_one(lc_server *srv, uint64_t changes, uint64_t *seen,
                     char *(*msg)(lc_server *, size_t), size_t i)
{
    if (changes == *seen)
        return;
    *seen = changes;
    if (srv->events_clients)
        lc_ws_events_push(srv, msg(srv, i));
}

void lc_outputs_poll(lc_server *srv)
{
    for (size_t i = 0; i < srv->cfg.n_icecast; i++) {
        lc_icecast_status st;
        lc_icecast_status_get(srv->icecast[i], &st);
        poll_one(srv, st.changes, &srv->ice_seen[i], lc_wire_icecast_msg, i);
    }
    for (size_t i = 0; i < srv->cfg.n_rtp; i++) {
        lc_rtp_status st;
        lc_rtp_status_get(srv->rtp[i], &st);
        poll_one(srv, st.changes, &srv->rtp_seen[i], lc_wire_rtp_msg, i);
    }
}
