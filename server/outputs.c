/*
 * outputs.c — the engines loopcast feeds besides its own listeners: one Icecast pusher per
 * --icecast target (icecast/). Started once every capture runs, stopped after the workers have
 * ended (so no API reader can see a pusher go away). A pusher's state is its own: it is in
 * /metrics, GET /api/v1/status and an `icecast` event at each change, never in /readyz — a lost
 * Icecast must not take loopcast's own listeners out of a load balancer.
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
    return 0;
}

void lc_outputs_stop(lc_server *srv)
{
    for (size_t i = 0; i < LC_CONFIG_MAX_OUTPUTS; i++) {
        lc_icecast_stop(srv->icecast[i]);
        srv->icecast[i] = NULL;
    }
}

void lc_outputs_poll(lc_server *srv)
{
    for (size_t i = 0; i < srv->cfg.n_icecast; i++) {
        lc_icecast_status st;
        if (!srv->icecast[i])
            continue;
        lc_icecast_status_get(srv->icecast[i], &st);
        if (st.changes == srv->ice_seen[i])
            continue;
        srv->ice_seen[i] = st.changes;
        if (srv->events_clients)
            lc_ws_events_push(srv, lc_wire_icecast_msg(srv, i));
    }
}
