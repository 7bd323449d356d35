/*
 * fanout.c — the one place where a change reaches the open connections: a session change (from
 * the table's event callback) goes to that session's audio connections and to every events
 * client; a group change to its members' connections and every events client; a capture-state change (a 250 ms poll) goes to every audio connection and every events
 * client. Each protocol file only queues what it is given, so none of them calls another.
 *
 * Threads: lc_sessions calls back on the thread that made the change, and the server makes every
 * change on a worker holding srv->mu (attach and detach in ws_stream.c and ogg_http.c, patch
 * from a page's `set`, and the REST handler); the store's writer thread only writes files and
 * never emits. The thread is checked anyway, so a future caller elsewhere fails loudly instead of
 * racing on the lists. A connection on another worker is only flagged here and its worker woken
 * (worker.c): the lws calls happen on the owner.
 */
#include "internal.h"

#include <stdio.h>
#include <string.h>

#define SOURCE_POLL_US (250 * LWS_US_PER_MS)

void lc_fanout_session_event(void *user, lc_session_event ev, const lc_session_info *s)
{
    lc_server *srv = user;
    if (srv->tearing_down)
        return; /* the connections are being freed; nobody is left to tell */
    if (!lc_worker_current()) {
        lc_log(LC_LOG_ERROR, LC_LOG_MOD, "session event off the service threads dropped (bug)");
        return;
    }
    lc_ws_stream_session_event(srv, ev, s);
    if (ev == LC_SESSION_UPDATED || ev == LC_SESSION_REMOVED)
        lc_ogg_http_session_event(srv, ev, s->id);
    if (srv->events_clients) {
        lc_api_live live = {.delay_ms = -1};
        lc_ws_stream_live(srv, s->id, &live);
        lc_ws_events_push(srv, lc_api_event_json(ev, s, &live));
    }
}

void lc_fanout_group_event(void *user, lc_group_event ev, const lc_group_info *g)
{
    lc_server *srv = user;
    if (srv->tearing_down)
        return;
    if (!lc_worker_current()) {
        lc_log(LC_LOG_ERROR, LC_LOG_MOD, "group event off the service threads dropped (bug)");
        return;
    }
    /* A group's stream, volume, mute or sync reach each member's page; membership changes come
     * as session events too */
    lc_ws_stream_group_event(srv);
    lc_ogg_http_session_event(srv, LC_SESSION_UPDATED, NULL);
    if (srv->events_clients)
        lc_ws_events_push(srv, lc_api_group_event_json(srv->api, ev, g));
}

/* lc_capture has no state callback (its thread must not call into lws), so worker 0 looks every
 * 250 ms at every stream: cheap (two atomic loads and a short copy each) and well inside "a panel
 * sees it". A change goes to that stream's listeners (each worker tells its own) and to every
 * events client. */
static void source_poll(lws_sorted_usec_list_t *sul)
{
    lc_server *srv = lws_container_of(sul, lc_server, source_poll);
    lc_mutex_lock(srv->mu);
    for (unsigned i = 0; i < srv->n_feeds; i++) {
        lc_feed *f = &srv->feeds[i];
        char err[160];
        lc_capture_state st = lc_feed_state(f, err, sizeof err);
        lc_capture_stats cs;
        lc_capture_get_stats(f->cap, &cs);
        if (st == f->src_state && !strcmp(err, f->src_error) && !strcmp(cs.detail, f->src_detail))
            continue;
        f->src_state = st;
        snprintf(f->src_error, sizeof f->src_error, "%s", err);
        memcpy(f->src_detail, cs.detail, sizeof f->src_detail);
        for (unsigned k = 0; k < srv->n_workers; k++) {
            atomic_fetch_or(&srv->workers[k].source_changed, 1u << i);
            lc_worker_wake(&srv->workers[k], 0);
        }
        if (srv->events_clients)
            lc_ws_events_push(srv, lc_wire_source_msg(f));
    }
    lc_outputs_poll(srv); /* the Icecast pushers, the same way */
    lc_mutex_unlock(srv->mu);
    if (!lc_server_stopping(srv))
        lws_sul_schedule(srv->ctx, 0, &srv->source_poll, source_poll, SOURCE_POLL_US);
}

void lc_fanout_start_source_poll(lc_server *srv)
{
    /* each feed's src_state was taken when its capture started (lc_feeds_start) */
    lws_sul_schedule(srv->ctx, 0, &srv->source_poll, source_poll, SOURCE_POLL_US);
}
