/*
 * ogg_http.c — /stream.ogg[?stream=NAME&session=GUID] (issue 15): the same Opus packets as the
 * WebSocket listeners get, no re-encode, as an endless Ogg Opus HTTP response (audio/ogg) for
 * media players — VLC, mpv, ffplay, an <audio> element, casting devices.
 *
 * Per connection: a cursor into its stream's ring (as an audio WebSocket has), an Ogg muxer
 * (oggmux/: its own header pages, then one page per packet, granules from the packets' pts), and
 * the bytes of the page being sent. One lws_write per HTTP_WRITEABLE; packets wake every
 * connection through the same lws_cancel_service as the WebSockets. The response has no length
 * and ends with the connection, as a radio stream does.
 *
 * ?session=GUID binds it to a session: it counts as that session's connection (the API and
 * /metrics see a listener), and a muted session (or room) gets packets of silence — a player
 * stalls on a gap — while volume cannot apply without re-encoding and is ignored (docs/api.md).
 * Without ?stream= it hears its session's stream (its room's), and follows a change of it.
 *
 * Everything here runs under srv->mu (http.c takes it), on the connection's worker but for the
 * session fan-out, which may come from another worker: it changes the connection under mu and
 * wakes its worker (lc_wake_writable). Media players are few: the audio WebSockets are the path
 * that scales (ws_stream.c takes no lock to send).
 */
#include "internal.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oggmux.h"

#define OGG_BUF (LC_STREAM_MAX_PACKET + 27u + 255u)

struct lc_ogg_conn {
    lc_server *srv;
    struct lws *wsi;
    lws_dll2_t link;          /* srv->ogg_conns */
    lc_feed *feed;
    bool follow;              /* no ?stream=: hears its session's stream */
    uint64_t cursor;
    lc_oggmux *mux;
    uint8_t *buf;             /* LWS_PRE + the page(s) being sent */
    size_t len;
    bool attached, muted, counted;
    char id[LC_SESSION_ID_LEN + 1];
    uint64_t sent, dropped, connected_ns;
    char remote[LC_ADDR_MAX];
    char user_agent[160];
};

/* The stream a session hears now (its room's when grouped), its mute; false if it is gone. */
static bool session_view(lc_server *srv, const char *id, lc_feed **feed, bool *muted)
{
    lc_session_info s;
    lc_group_info g;
    bool grouped;
    if (lc_sessions_view(srv->sessions, id, &s, &g, &grouped))
        return false;
    *feed = lc_feed_heard(srv, &s, grouped ? &g : NULL);
    *muted = s.muted || (grouped && g.muted);
    return true;
}

static void set_feed(lc_ogg_conn *c, lc_feed *f)
{
    if (f == c->feed)
        return;
    if (c->counted) {
        c->feed->listeners--;
        f->listeners++;
    }
    c->feed = f;
    c->cursor = lc_stream_cursor_new(f->ring); /* its pts continue the granule clock forward */
}

void lc_ogg_http_free(lc_ogg_conn *c)
{
    if (!c)
        return;
    lc_server *srv = c->srv;
    if (c->counted)
        lc_feed_listener_remove(c->feed, c->wsi);
    lws_dll2_remove(&c->link);
    if (c->attached)
        lc_sessions_detach(srv->sessions, c->id);
    lc_oggmux_destroy(c->mux);
    free(c->buf);
    free(c);
}

/* Headers of an endless audio/ogg answer (no length: the stream ends with the connection, and
 * lws itself says "connection: close" for a response without a length). */
static int send_headers(struct lws *wsi)
{
    uint8_t hb[LWS_PRE + 1024];
    unsigned char *start = hb + LWS_PRE, *p = start, *end = hb + sizeof hb - 1;
    if (lws_add_http_common_headers(wsi, 200, "audio/ogg", LWS_ILLEGAL_HTTP_CONTENT_LEN, &p, end) ||
        lc_http_add_security_headers(wsi, &p, end, "no-store") ||
        lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    return 0;
}

int lc_ogg_http_start(struct lws *wsi, lc_server *srv, const char *client, bool head,
                      lc_ogg_conn **out, unsigned *status, char *why, size_t whylen)
{
    char arg[LC_STREAM_NAME_MAX + 2], sid[64];
    lc_ogg_conn *c = NULL;
    *out = NULL;
    *status = 500;
    const char *name = lws_get_urlarg_by_name(wsi, "stream=", arg, sizeof arg);
    const char *session = lws_get_urlarg_by_name(wsi, "session=", sid, sizeof sid);
    lc_feed *f = name ? lc_feed_find(srv, name) : NULL;
    if (name && !f) {
        *status = 404;
        lc_errf(why, whylen, "no stream called '%.32s' (GET /api/v1/streams)", name);
        return LC_ERR_NOT_FOUND;
    }
    char id[LC_SESSION_ID_LEN + 1];
    if (session && lc_session_id_canonical(id, session)) {
        *status = 400;
        lc_errf(why, whylen, "session must be a GUID like 9f1c2d3e-4b5a-4c6d-8e7f-0123456789ab");
        return LC_ERR_INVALID;
    }
    if (srv->listeners >= srv->cfg.max_listeners) {
        *status = 503;
        srv->ws_refused++;
        lc_refused(srv, LC_REFUSED_LISTENERS);
        lc_errf(why, whylen, "listener limit reached (--max-listeners %u), try again later",
                srv->cfg.max_listeners);
        return LC_ERR_FULL;
    }
    if (head)
        return send_headers(wsi) ? LC_ERR_IO : 0; /* a HEAD learns the type, nothing more */
    if (!(c = calloc(1, sizeof *c)) || !(c->buf = malloc(LWS_PRE + OGG_BUF)))
        goto nomem;
    c->srv = srv;
    c->wsi = wsi;
    c->feed = f ? f : &srv->feeds[0];
    c->follow = !f;
    if (session) {
        lc_session_info info;
        int rc = lc_sessions_attach(srv->sessions, id, true, &info);
        if (rc) {
            *status = rc == LC_ERR_FULL ? 503 : 500;
            lc_errf(why, whylen, "%s", rc == LC_ERR_FULL ? "session table full, try again later"
                                                          : "session unavailable");
            if (rc == LC_ERR_FULL)
                lc_refused(srv, LC_REFUSED_SESSIONS);
            lc_ogg_http_free(c);
            return rc;
        }
        c->attached = true;
        memcpy(c->id, info.id, sizeof c->id);
        lc_feed *sf;
        if (session_view(srv, c->id, &sf, &c->muted) && c->follow)
            c->feed = sf;
    }
    lc_oggmux_config mc;
    lc_feed_mux_config(c->feed, &mc);
    (void)RAND_bytes((unsigned char *)&mc.serial, sizeof mc.serial); /* any value is valid */
    if (lc_oggmux_create(&c->mux, &mc))
        goto nomem;
    long n = lc_oggmux_headers(c->mux, c->buf + LWS_PRE, OGG_BUF);
    if (n < 0 || send_headers(wsi)) {
        lc_ogg_http_free(c);
        return LC_ERR_IO;
    }
    c->len = (size_t)n;
    c->cursor = lc_stream_cursor_new(c->feed->ring);
    c->connected_ns = lc_now_ns();
    snprintf(c->remote, sizeof c->remote, "%s", client);
    if (lws_hdr_copy(wsi, c->user_agent, sizeof c->user_agent, WSI_TOKEN_HTTP_USER_AGENT) < 0)
        c->user_agent[0] = '\0';
    lws_dll2_add_head(&c->link, &srv->ogg_conns);
    lc_feed_listener_add(c->feed, wsi);
    c->counted = true;
    lc_log(LC_LOG_INFO, LC_LOG_MOD, "ogg listener %s on stream %s%s%s", client, c->feed->def->name,
           c->attached ? ", session " : "", c->attached ? c->id : "");
    *out = c;
    lws_callback_on_writable(wsi);
    return 0;
nomem:
    lc_ogg_http_free(c);
    *status = 500;
    lc_errf(why, whylen, "out of memory");
    return LC_ERR_NOMEM;
}

/* The next packet of the ring as a page into c->buf; false when there is none yet. */
static bool next_page(lc_ogg_conn *c)
{
    lc_server *srv = c->srv;
    uint8_t pkt[LC_TXBUF];
    size_t len = 0;
    uint32_t dropped = 0;
    if (lc_stream_read(c->feed->ring, &c->cursor, pkt, sizeof pkt, &len, &dropped))
        return false;
    /* the ring's message: the 24-byte header (protocol.md), then the Opus packet */
    lc_stream_header h;
    if (lc_stream_header_parse(pkt, len, &h))
        return false; /* never from our own ring */
    uint64_t pts = h.pts;
    const uint8_t *opus = pkt + h.header_len;
    size_t olen = len - h.header_len;
    if (c->muted) {
        opus = srv->silence;
        olen = srv->silence_len;
    }
    long n = lc_oggmux_packet(c->mux, opus, olen, pts, c->buf + LWS_PRE, OGG_BUF);
    if (n <= 0)
        return false; /* a packet before the first one's pts (never from one ring): skipped */
    lc_worker *w = lc_worker_of(c->wsi);
    c->len = (size_t)n;
    c->sent++;
    c->dropped += dropped;
    lc_count(&w->n.packets_sent, 1);
    lc_count(&w->n.packets_dropped, dropped);
    lc_count(&w->n.feed_sent[c->feed->index], 1);
    return true;
}

int lc_ogg_http_writeable(lc_ogg_conn *c)
{
    lc_server *srv = c->srv;
    if (lc_server_stopping(srv) || (!c->attached && c->id[0]))
        return -1; /* shutting down, or its session was forgotten: the stream ends */
    if (!c->len && !next_page(c))
        return 0;
    size_t n = c->len;
    c->len = 0;
    lc_count(&lc_worker_of(c->wsi)->n.bytes_sent, n);
    if (lws_write(c->wsi, c->buf + LWS_PRE, n, LWS_WRITE_HTTP) < (int)n)
        return -1;
    if (lc_stream_pending(c->feed->ring, c->cursor))
        lws_callback_on_writable(c->wsi);
    return 0;
}

void lc_ogg_http_wake(lc_worker *w)
{
    lc_mutex_lock(w->srv->mu);
    LC_DLL_EACH(d, &w->srv->ogg_conns) {
        lc_ogg_conn *c = lws_container_of(d, lc_ogg_conn, link);
        if (lc_worker_of(c->wsi) == w)
            lws_callback_on_writable(c->wsi);
    }
    lc_mutex_unlock(w->srv->mu);
}

void lc_ogg_http_session_event(lc_server *srv, lc_session_event ev, const char *id)
{
    LC_DLL_EACH(d, &srv->ogg_conns) {
        lc_ogg_conn *c = lws_container_of(d, lc_ogg_conn, link);
        if (!c->attached || (id && strcmp(c->id, id)))
            continue;
        lc_feed *f;
        bool muted;
        if (ev == LC_SESSION_REMOVED || !session_view(srv, c->id, &f, &muted)) {
            lc_sessions_detach(srv->sessions, c->id);
            c->attached = false; /* ends at its next writeable */
        } else {
            c->muted = muted;
            if (c->follow)
                set_feed(c, f);
        }
        lc_wake_writable(c->wsi, LC_WAKE_OGG);
    }
}

void lc_ogg_http_live(lc_server *srv, const char *id, lc_api_live *out)
{
    LC_DLL_EACH(d, &srv->ogg_conns) {
        lc_ogg_conn *c = lws_container_of(d, lc_ogg_conn, link);
        if (!c->attached || strcmp(c->id, id))
            continue;
        out->packets_sent += c->sent;
        out->packets_dropped += c->dropped;
        if (!out->remote[0]) { /* a WebSocket of the same session describes it better */
            snprintf(out->remote, sizeof out->remote, "%s", c->remote);
            snprintf(out->user_agent, sizeof out->user_agent, "%s", c->user_agent);
            out->output = "ogg";
        }
    }
}
