/*
 * ws_stream.c — the audio WebSocket (/stream, subprotocol "loopcast.v1" or none).
 *
 * Per connection: a cursor into the shared ring (= this listener's queue), a few pending text
 * replies, a copy of its session's settings. A connection lives on one worker (worker.c), which
 * alone writes its fields; the ones other workers read (the API's live figures, the session
 * fan-out) it writes under srv->mu, which every callback here takes except the audio path of
 * WRITEABLE: that one reads only what its own worker writes, so the fan-out takes no lock.
 * Another worker that changes the session only sets `refresh` and wakes the owner, which then
 * reads the table again (refresh_view) under mu.
 *
 * Sessions: ESTABLISHED attaches the connection to its session (lc_sessions_attach: persisted
 * settings come back and go out in the hello), CLOSED detaches it. The page's `set` patches the
 * table; the table's event (fanout.c → lc_ws_stream_session_event) flags every connection of
 * that session, which then reads its settings again and gets a `session` message — so a change from the API, another tab or
 * the page itself reaches all of them the same way, within one service-loop turn.
 *
 * Send order per WRITEABLE (one lws_write each, as lws requires): a pending close, then the
 * hello, then `session`, `source`, `time` answers, an `error`, then the next audio packet. Text first so a ping
 * is answered within one packet time even while audio is flowing.
 *
 * New packets skip WRITEABLE: when a worker is woken for packets (fan_out), it writes them at
 * once to each of its connections that has nothing else to send and no unsent bytes. Asking lws
 * for WRITEABLE instead costs every connection a POLLOUT round — the poll() over every socket,
 * the service dispatch, two poll-set changes — which was a third of the server's CPU per packet
 * (docs/performance.md, "Service threads"). lws 4.1.6 allows it: lws_write on the context's own
 * thread buffers what the socket does not take (buflist_out), asks for POLLOUT itself and
 * appends any later write behind it, so a connection whose kernel buffer is full takes the
 * WRITEABLE path until it drains (lws_partial_buffered).
 *
 * Memory per idle listener is this struct (~550 bytes) plus lws's own per-connection state and
 * its rx buffer (rx_buffer_size 512 + LWS_PRE, see server.c); a control message that arrives in
 * pieces borrows a reassembly buffer of --max-msg-bytes only until it is complete.
 *
 * Limits on what a client sends: a message over --max-msg-bytes closes with 1009, more than
 * --max-msg-rate messages per second (bursts of twice that) closes with 1008 "rate limit". A
 * page sends a stats message every few seconds and a ping a second, far below either.
 */
#include "internal.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "control.h"
#include "session.h"

#define MAX_PINGS 4
enum { REFRESH_SESSION = 1u, REFRESH_GROUP = 2u }; /* why lc_ws_conn.refresh was set */
struct lc_ws_conn {
    /* Guards: "owner" = its worker only; everything else is written by its worker under mu and
     * read by anyone under mu (or by its worker without). */
    struct lws *wsi;
    lws_dll2_t link;        /* srv->audio_conns */
    lws_dll2_t own;         /* owner: its worker's list (lc_worker.audio), for fan_out */
    bool peer_closing;      /* owner: the client sent a close; lws answers it, we write no more */
    bool attached;          /* lc_sessions_attach succeeded: detach when it closes */
    lc_feed *feed;          /* the stream it hears (its group's when grouped) */
    uint64_t cursor;        /* owner: position of the next packet to send in feed's ring */
    _Atomic uint64_t sent, dropped; /* owner writes (lc_count): packets to it / skipped for it */
    atomic_uint refresh;    /* anyone sets REFRESH_*: read the session and group again */
    uint64_t connected_ns;  /* the newest connection of a session gives its address/agent */
    double ping_t[MAX_PINGS];
    uint8_t ping_n;         /* pending `time` answers */
    uint8_t has_ping_t[MAX_PINGS];
    bool counted;           /* included in srv->listeners */
    /* owner: what its next WRITEABLEs send. */
    bool hello_pending;
    bool session_pending;   /* the session changed: send a `session` message */
    bool source_pending;    /* the capture source changed state: send a `source` message */
    bool resync;            /* next audio packet carries the discontinuity flag */
    uint16_t close_code;    /* nonzero: close with this code at the next writeable */
    bool close_sent;        /* our close frame is out: waiting for the client's */
    const char *close_why;  /* its reason (a static string) */
    int err_rc;             /* pending `error` (an lc_control_parse result), 0 = none */
    char err_msg[96];
    /* The session's settings as last seen (hello, then every session event): muted is what
     * send_audio obeys. The table (session/) is the truth; this is the connection's copy. */
    char id[LC_SESSION_ID_LEN + 1];
    int volume, latency_trim_ms;
    bool muted, persist;
    char name[LC_SESSION_NAME_MAX + 1];
    /* Its group's settings as last seen (group "" = none: volume 100, not muted) and the delay
     * it plays at (its group's when synced, 0 when not; --sync-ms when in no group). */
    char group[LC_SESSION_ID_LEN + 1];
    char group_name[LC_SESSION_NAME_MAX + 1];
    int group_volume, sync_ms;
    bool group_muted;
    /* The page's latest playout figures (stats), for the API's delay_ms. */
    float buffer_ms, latency_ms;
    bool has_sync_error;    /* the page plays synchronized (--sync-ms) and said how late */
    float sync_error_ms;
    int64_t underruns;
    uint8_t decoder, output;
    char remote[LC_ADDR_MAX]; /* the client's address (lc_client_addr) */
    char user_agent[160];
    /* Reassembly of a fragmented text message (at most --max-msg-bytes); NULL unless one is in
     * flight. */
    char *rx;
    size_t rx_len;
    lc_bucket rate;         /* --max-msg-rate: one token per message */
};
typedef lc_ws_conn ws_pss;

size_t lc_ws_pss_size(void) { return sizeof(ws_pss); }

/* The session id from ?session= or, failing that, the loopcast_session cookie.
 * 1 = found (copied), 0 = absent/empty, -1 = present but malformed. */
static int session_from_request(struct lws *wsi, char out[LC_SESSION_ID_LEN + 1])
{
    char buf[128];
    /* lws matches the argument by prefix, so the name is given with its '='. */
    const char *v = lws_get_urlarg_by_name(wsi, "session=", buf, sizeof buf);
    if (v) {
        /* found */
    } else if (lws_hdr_copy(wsi, buf, sizeof buf, WSI_TOKEN_HTTP_COOKIE) > 0) {
        char *c = strstr(buf, "loopcast_session=");
        if (c && (c == buf || c[-1] == ' ' || c[-1] == ';')) {
            v = c + strlen("loopcast_session=");
            char *e = strchr(v, ';');
            if (e)
                *e = '\0';
        }
    }
    if (!v || !*v)
        return 0;
    return lc_session_id_canonical(out, v) ? -1 : 1;
}

static int write_text(struct lws *wsi, lc_server *srv, const char *s, size_t n)
{
    (void)srv;
    uint8_t *buf = lc_worker_of(wsi)->txbuf; /* the worker's own send buffer */
    if (n > LC_TXBUF)
        return -1;
    memcpy(buf + LWS_PRE, s, n);
    return lws_write(wsi, buf + LWS_PRE, n, LWS_WRITE_TEXT) < (int)n ? -1 : 0;
}

/* Sends `root` as one text message and frees it (root may be NULL after a failed build). */
static int write_json(struct lws *wsi, lc_server *srv, cJSON *root)
{
    char *text = root ? cJSON_PrintUnformatted(root) : NULL;
    int rc = text ? write_text(wsi, srv, text, strlen(text)) : -1;
    cJSON_free(text);
    cJSON_Delete(root);
    return rc;
}

/* The session fields the hello and every `session` message carry: its settings, then what the
 * page plays by — its stream, its group's volume and mute, the delay it plays at (protocol.md).
 * NULL if out of memory. */
static cJSON *add_session(cJSON *root, const ws_pss *pss)
{
    lc_session_info s = {.volume = pss->volume, .muted = pss->muted,
                         .latency_trim_ms = pss->latency_trim_ms, .persist = pss->persist};
    memcpy(s.id, pss->id, sizeof s.id);
    memcpy(s.name, pss->name, sizeof s.name);
    cJSON *o = cJSON_AddObjectToObject(root, "session");
    bool g = pss->group[0] != '\0';
    return o && lc_api_put_session_settings(o, &s) &&
                   cJSON_AddStringToObject(o, "stream", pss->feed->def->name) &&
                   (g ? cJSON_AddStringToObject(o, "group", pss->group)
                      : cJSON_AddNullToObject(o, "group")) &&
                   (g ? cJSON_AddStringToObject(o, "group_name", pss->group_name)
                      : cJSON_AddNullToObject(o, "group_name")) &&
                   cJSON_AddNumberToObject(o, "group_volume", pss->group_volume) &&
                   cJSON_AddBoolToObject(o, "group_muted", pss->group_muted) &&
                   cJSON_AddNumberToObject(o, "sync_ms", pss->sync_ms)
               ? o
               : NULL;
}

/* Takes the session's settings and its group's (NULL: in none) into the connection (on its
 * worker, under mu); a new stream means a cursor at that stream's live edge, a discontinuity flag on its first packet,
 * and its `source`. Returns whether what the page plays by changed. */
static bool apply_view(lc_server *srv, ws_pss *c, const lc_session_info *s, const lc_group_info *g)
{
    lc_feed *f = lc_feed_heard(srv, s, g);
    int sync = g ? (g->sync ? g->sync_delay_ms : 0) : (int)srv->cfg.sync_ms;
    int gvol = g ? g->volume : LC_SESSION_VOLUME_MAX;
    bool gmuted = g && g->muted;
    bool changed = f != c->feed || strcmp(c->group, g ? g->id : "") ||
                   strcmp(c->group_name, g ? g->name : "") || c->group_volume != gvol ||
                   c->group_muted != gmuted || c->sync_ms != sync;
    if (f != c->feed) {
        if (c->counted) {
            c->feed->listeners--;
            f->listeners++;
        }
        c->feed = f;
        c->cursor = lc_stream_cursor_new(f->ring);
        c->resync = true;
        c->source_pending = true;
    }
    if (c->sync_ms && !sync)
        c->has_sync_error = false; /* not synchronized any more: no error to report */
    snprintf(c->group, sizeof c->group, "%s", g ? g->id : "");
    snprintf(c->group_name, sizeof c->group_name, "%s", g ? g->name : "");
    c->group_volume = gvol;
    c->group_muted = gmuted;
    c->sync_ms = sync;
    memcpy(c->name, s->name, sizeof c->name);
    c->volume = s->volume;
    c->muted = s->muted;
    c->latency_trim_ms = s->latency_trim_ms;
    c->persist = s->persist;
    return changed;
}

/* apply_view with the table's current session and group (one lock): 1 when what the page plays
 * by changed, 0 when not, LC_ERR_NOT_FOUND when the session is gone. Under mu, on its worker. */
static int refresh_view(lc_server *srv, ws_pss *c)
{
    lc_session_info s;
    lc_group_info g;
    bool grouped;
    if (lc_sessions_view(srv->sessions, c->id, &s, &g, &grouped))
        return LC_ERR_NOT_FOUND;
    return apply_view(srv, c, &s, grouped ? &g : NULL);
}

static int send_hello(struct lws *wsi, lc_server *srv, ws_pss *pss)
{
    cJSON *root = cJSON_CreateObject(), *o;
    if (!root)
        return -1;
    cJSON_AddStringToObject(root, "type", "hello");
    cJSON_AddNumberToObject(root, "protocol", LC_PROTOCOL_VERSION);
    if (!(o = cJSON_AddObjectToObject(root, "server")))
        goto fail;
    cJSON_AddStringToObject(o, "version", LC_VERSION);
    cJSON_AddStringToObject(o, "host", srv->host);
    cJSON_AddNumberToObject(o, "time_ns", (double)lc_now_ns());
    if (!add_session(root, pss) || !lc_wire_add_codec(root, srv) ||
        !lc_wire_add_source(root, pss->feed) || !lc_wire_add_streams(root, srv) ||
        !lc_wire_add_sync(root, srv))
        goto fail;
    return write_json(wsi, srv, root);
fail:
    cJSON_Delete(root);
    return -1;
}

/* {"type":"session","session":{id,name,volume,muted,latency_trim_ms,persist}} — the hello's
 * session fields. */
static int send_session(struct lws *wsi, lc_server *srv, ws_pss *pss)
{
    cJSON *root = cJSON_CreateObject();
    pss->session_pending = false;
    if (!root || !cJSON_AddStringToObject(root, "type", "session") || !add_session(root, pss)) {
        cJSON_Delete(root);
        return -1;
    }
    return write_json(wsi, srv, root);
}

static int send_source(struct lws *wsi, lc_server *srv, ws_pss *pss)
{
    char *text = lc_wire_source_msg(pss->feed);
    int rc = text ? write_text(wsi, srv, text, strlen(text)) : -1;
    pss->source_pending = false;
    free(text);
    return rc;
}

static int send_time(struct lws *wsi, lc_server *srv, ws_pss *pss)
{
    char msg[160], num[40];
    if (pss->has_ping_t[0])
        lc_control_format_number(num, sizeof num, pss->ping_t[0]);
    else
        snprintf(num, sizeof num, "null");
    int n = snprintf(msg, sizeof msg, "{\"type\":\"time\",\"server_ns\":%llu,\"echo\":%s}",
                     (unsigned long long)lc_now_ns(), num);
    memmove(pss->ping_t, pss->ping_t + 1, sizeof pss->ping_t[0] * (MAX_PINGS - 1));
    memmove(pss->has_ping_t, pss->has_ping_t + 1, MAX_PINGS - 1);
    pss->ping_n--;
    return write_text(wsi, srv, msg, (size_t)n);
}

static int send_error(struct lws *wsi, lc_server *srv, ws_pss *pss)
{
    char msg[256];
    /* err_msg comes from lc_control_parse: fixed English text that never quotes input, so it
     * needs no JSON escaping. */
    int n = snprintf(msg, sizeof msg, "{\"type\":\"error\",\"code\":\"%s\",\"message\":\"%s\"}",
                     lc_control_error_code(pss->err_rc), pss->err_msg);
    pss->err_rc = 0;
    return write_text(wsi, srv, msg, (size_t)n);
}

/* One audio packet, if the cursor has one: 1 written, 0 none (or muted), -1 error. No lock:
 * everything it reads its own worker wrote. */
static int write_audio(struct lws *wsi, ws_pss *pss)
{
    size_t len = 0;
    uint32_t dropped = 0;
    lc_worker *w = lc_worker_of(wsi);
    uint8_t *pkt = w->txbuf + LWS_PRE;
    lc_stream *ring = pss->feed->ring;
    if (pss->muted || pss->group_muted) {
        /* A muted session is sent no audio: keep its cursor at live, flag the gap on unmute. */
        pss->cursor = lc_stream_published(ring);
        pss->resync = true;
        return 0;
    }
    int rc = lc_stream_read(ring, &pss->cursor, pkt, LC_TXBUF, &len, &dropped);
    if (rc == LC_ERR_AGAIN)
        return 0;
    if (rc)
        return -1;
    if (pss->resync) {
        pkt[1] |= LC_STREAM_FLAG_DISCONTINUITY;
        pss->resync = false;
    }
    if (lws_write(wsi, pkt, len, LWS_WRITE_BINARY) < (int)len)
        return -1;
    lc_count(&pss->sent, 1);
    lc_count(&w->n.packets_sent, 1);
    lc_count(&w->n.feed_sent[pss->feed->index], 1);
    lc_count(&w->n.bytes_sent, len);
    if (dropped) {
        lc_count(&pss->dropped, dropped);
        lc_count(&w->n.packets_dropped, dropped);
    }
    return 1;
}

/* WRITEABLE's audio: one packet, and another WRITEABLE while more are waiting. */
static int send_audio(struct lws *wsi, ws_pss *pss)
{
    int rc = write_audio(wsi, pss);
    if (rc < 0)
        return -1;
    if (rc > 0 && lc_stream_pending(pss->feed->ring, pss->cursor))
        lws_callback_on_writable(wsi);
    return 0;
}

#define DIRECT_MAX 8 /* packets one wake writes to a connection; the rest go by WRITEABLE */

/* Nothing but audio to send: fan_out may write to it now. */
static bool direct_ok(ws_pss *c)
{
    return !c->close_code && !c->peer_closing && !c->hello_pending && !c->session_pending &&
           !c->source_pending && !c->ping_n && !c->err_rc &&
           !atomic_load_explicit(&c->refresh, memory_order_relaxed);
}

/* Worker `w` was woken (packets, most often): its audio connections get what is new. */
static void fan_out(lc_worker *w)
{
    LC_DLL_EACH(d, &w->audio) {
        ws_pss *c = lws_container_of(d, ws_pss, own);
        if (!direct_ok(c)) {
            lws_callback_on_writable(c->wsi); /* text first, or a close */
            continue;
        }
        /* A socket with unsent bytes (lws_partial_buffered) is left to lws, which flushes them
         * and then WRITEABLE goes on; writing behind them would only grow lws's buffer. */
        int rc = 0;
        for (int k = 0; k < DIRECT_MAX && lc_stream_pending(c->feed->ring, c->cursor) &&
                        !lws_partial_buffered(c->wsi); k++)
            if ((rc = write_audio(c->wsi, c)) <= 0)
                break;
        if (rc < 0) /* the socket failed: lws closes it from its own loop */
            lws_set_timeout(c->wsi, PENDING_TIMEOUT_KILLED_BY_PARENT, LWS_TO_KILL_ASYNC);
        else if (lc_stream_pending(c->feed->ring, c->cursor))
            lws_callback_on_writable(c->wsi);
    }
}

static void refuse(ws_pss *pss, uint16_t code, const char *why);

/* Another worker (or this one) flagged a session or group change: read them again. */
static void take_refresh(lc_server *srv, ws_pss *pss)
{
    unsigned why = atomic_exchange_explicit(&pss->refresh, 0, memory_order_acquire);
    if (!why)
        return;
    lc_mutex_lock(srv->mu);
    int changed = pss->attached ? refresh_view(srv, pss) : 0; /* detached: closing already */
    if (changed > 0 || (changed == 0 && pss->attached && (why & REFRESH_SESSION))) {
        /* A session change is always confirmed (the page's own `set` waits for it); a group
         * change only where it changed this connection's view. */
        pss->session_pending = true;
    } else if (changed < 0) {
        /* Forgotten through the API: the page must not keep playing under a dead id. */
        pss->attached = false;
        refuse(pss, LWS_CLOSE_STATUS_POLICY_VIOLATION, "session forgotten");
    }
    lc_mutex_unlock(srv->mu);
}

/* The hello, `session` and `source` read the server's shared state: under mu. */
static int send_shared(struct lws *wsi, lc_server *srv, ws_pss *pss)
{
    int rc;
    lc_mutex_lock(srv->mu);
    if (pss->hello_pending) {
        pss->hello_pending = false;
        pss->session_pending = false; /* the hello carries the settings */
        rc = send_hello(wsi, srv, pss);
    } else if (pss->session_pending) {
        rc = send_session(wsi, srv, pss);
    } else {
        rc = send_source(wsi, srv, pss);
    }
    lc_mutex_unlock(srv->mu);
    return rc;
}

static int on_writeable(struct lws *wsi, lc_server *srv, ws_pss *pss)
{
    take_refresh(srv, pss);
    int closing = lc_ws_close_pending(wsi, srv, pss->close_code, pss->close_why,
                                      &pss->close_sent);
    if (closing)
        return closing == 1 ? -1 : 0;
    int rc;
    if (pss->hello_pending || pss->session_pending || pss->source_pending) {
        rc = send_shared(wsi, srv, pss);
    } else if (pss->ping_n) {
        rc = send_time(wsi, srv, pss);
    } else if (pss->err_rc) {
        rc = send_error(wsi, srv, pss);
    } else {
        return send_audio(wsi, pss);
    }
    /* A text message went out; audio (or more text) may be waiting. */
    lws_callback_on_writable(wsi);
    return rc;
}

static void handle_message(lc_server *srv, ws_pss *pss, const char *buf, size_t len)
{
    lc_control_msg m;
    char err[96];
    int rc = lc_control_parse(buf, len, &m, err, sizeof err);
    if (rc) {
        if (!pss->err_rc) { /* keep the first refusal; later ones while it waits are dropped */
            pss->err_rc = rc;
            snprintf(pss->err_msg, sizeof pss->err_msg, "%s", err);
        }
        return;
    }
    switch (m.type) {
    case LC_CONTROL_PING:
        if (pss->ping_n == MAX_PINGS)
            pss->ping_n--; /* a client pinging faster than we answer: the newest replaces */
        pss->ping_t[pss->ping_n] = m.t;
        pss->has_ping_t[pss->ping_n] = m.has_t;
        pss->ping_n++;
        break;
    case LC_CONTROL_SET: {
        /* Through the table, never straight into this connection: its event brings the new
         * settings to every connection of the session, this one included (as a `session`). */
        lc_session_info info;
        if (m.patch.has_stream && !lc_feed_find(srv, m.patch.stream))
            rc = LC_ERR_INVALID; /* an unknown stream: nothing changes */
        else
            rc = pss->attached ? lc_sessions_patch(srv->sessions, pss->id, &m.patch, &info)
                               : LC_ERR_NOT_FOUND;
        if (rc && !pss->err_rc) {
            pss->err_rc = rc == LC_ERR_STATE ? LC_ERR_STATE : LC_ERR_INVALID;
            snprintf(pss->err_msg, sizeof pss->err_msg, "%s",
                     rc == LC_ERR_NOT_FOUND ? "this session no longer exists"
                     : rc == LC_ERR_STATE   ? "this session is in a group: the group's stream wins"
                     : m.patch.has_stream   ? "no such stream"
                                            : "refused");
        }
        break;
    }
    case LC_CONTROL_STATS:
        if (m.buffer_ms >= 0)
            pss->buffer_ms = (float)m.buffer_ms;
        if (m.latency_ms >= 0)
            pss->latency_ms = (float)m.latency_ms; /* read by the API's live hook */
        if (m.has_sync_error) {
            pss->has_sync_error = true;
            pss->sync_error_ms = (float)m.sync_error_ms;
        }
        if (m.underruns >= 0)
            pss->underruns = m.underruns;
        if (m.decoder)
            pss->decoder = (uint8_t)m.decoder;
        if (m.output)
            pss->output = (uint8_t)m.output;
        break;
    }
}

/* Size and rate of one incoming piece: 0 = go on; 1 = the connection is now closing (refused,
 * counted, logged). A message starts when nothing is being reassembled. */
static int check_limits(lc_server *srv, ws_pss *pss, size_t len, bool starts)
{
    const lc_config *cfg = &srv->cfg;
    if (starts && !lc_bucket_take(&pss->rate, cfg->max_msg_rate, lc_now_ns())) {
        lc_refused(srv, LC_REFUSED_MSG_RATE);
        lc_refusal_log(srv, "audio client %s: over --max-msg-rate %u messages/s: closing (1008)",
                       pss->remote, cfg->max_msg_rate);
        refuse(pss, LWS_CLOSE_STATUS_POLICY_VIOLATION, "rate limit");
        return 1;
    }
    if ((starts ? 0 : pss->rx_len) + len > cfg->max_msg_bytes) {
        lc_refused(srv, LC_REFUSED_MSG_SIZE);
        lc_refusal_log(srv, "audio client %s: message over --max-msg-bytes %u: closing (1009)",
                       pss->remote, cfg->max_msg_bytes);
        refuse(pss, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, "message too big");
        return 1;
    }
    return 0;
}

static int on_receive(struct lws *wsi, lc_server *srv, ws_pss *pss, const char *in, size_t len)
{
    if (pss->close_code)
        return 0; /* closing: whatever else arrives is not read */
    if (lws_frame_is_binary(wsi)) {
        pss->close_code = LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE;
        lws_callback_on_writable(wsi);
        return 0;
    }
    int final = lws_is_final_fragment(wsi);
    bool starts = !pss->rx;
    if (check_limits(srv, pss, len, starts)) {
        free(pss->rx);
        pss->rx = NULL;
        pss->rx_len = 0;
        lws_callback_on_writable(wsi);
        return 0;
    }
    if (starts && final) {
        handle_message(srv, pss, in, len); /* the usual case: no copy */
    } else {
        if (!pss->rx && !(pss->rx = malloc(srv->cfg.max_msg_bytes)))
            return -1;
        memcpy(pss->rx + pss->rx_len, in, len); /* check_limits kept it within the buffer */
        pss->rx_len += len;
        if (!final)
            return 0;
        handle_message(srv, pss, pss->rx, pss->rx_len);
        free(pss->rx);
        pss->rx = NULL;
        pss->rx_len = 0;
    }
    lws_callback_on_writable(wsi);
    return 0;
}

/* ?persist=0 asks for a session that is never written to disk (only when it is created). */
static bool persist_from_request(struct lws *wsi)
{
    char buf[16];
    const char *v = lws_get_urlarg_by_name(wsi, "persist=", buf, sizeof buf);
    return !(v && (!strcmp(v, "0") || !strcmp(v, "false")));
}

static void refuse(ws_pss *pss, uint16_t code, const char *why)
{
    pss->close_code = code;
    pss->close_why = why;
}

static void on_established(struct lws *wsi, lc_server *srv, ws_pss *pss)
{
    lc_session_info info;
    memset(pss, 0, sizeof *pss);
    pss->wsi = wsi;
    lc_worker *w = lc_worker_of(wsi);
    lws_dll2_add_head(&pss->own, &w->audio);
    pss->volume = 100;
    pss->group_volume = LC_SESSION_VOLUME_MAX;
    pss->persist = true;
    pss->feed = &srv->feeds[0];
    pss->cursor = lc_stream_cursor_new(pss->feed->ring);
    pss->hello_pending = true;
    lc_bucket_init(&pss->rate, srv->cfg.max_msg_rate, lc_now_ns());
    lc_client_addr(wsi, srv, pss->remote);
    int s = session_from_request(wsi, pss->id);
    if (s < 0) {
        refuse(pss, LWS_CLOSE_STATUS_POLICY_VIOLATION, "malformed session id");
    } else if (srv->listeners >= srv->cfg.max_listeners) {
        refuse(pss, 1013, "listener limit reached, try again later");
        srv->ws_refused++;
        lc_refused(srv, LC_REFUSED_LISTENERS);
        lc_refusal_log(srv, "audio client %s refused (1013): --max-listeners %u reached",
                       pss->remote, srv->cfg.max_listeners);
    } else {
        if (lws_hdr_copy(wsi, pss->user_agent, sizeof pss->user_agent,
                         WSI_TOKEN_HTTP_USER_AGENT) < 0)
            pss->user_agent[0] = '\0'; /* longer than we keep: better none than cut */
        pss->connected_ns = lc_now_ns();
        /* Linked before attaching, so the connected event's live figures include it. */
        lws_dll2_add_head(&pss->link, &srv->audio_conns);
        int rc = lc_sessions_attach(srv->sessions, s ? pss->id : NULL,
                                    persist_from_request(wsi), &info);
        if (rc == LC_ERR_FULL) {
            lws_dll2_remove(&pss->link);
            refuse(pss, 1013, "session table full, try again later");
            srv->ws_refused++;
            lc_refused(srv, LC_REFUSED_SESSIONS);
            lc_refusal_log(srv, "audio client %s refused (1013): --max-sessions %zu reached",
                           pss->remote, srv->cfg.max_sessions);
        } else if (rc) {
            lws_dll2_remove(&pss->link);
            refuse(pss, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION, "session unavailable");
        } else {
            pss->attached = true;
            memcpy(pss->id, info.id, sizeof pss->id);
            if (refresh_view(srv, pss) < 0) /* its stream, its group: read with the group's lock */
                apply_view(srv, pss, &info, NULL);
            lc_feed_listener_add(pss->feed, wsi);
            pss->counted = true;
        }
    }
    lws_callback_on_writable(wsi);
}

/* Its worker reads the table again at its next WRITEABLE (take_refresh): it may be another
 * worker's connection, whose fields only that worker writes. */
static void flag_refresh(ws_pss *c, unsigned why)
{
    atomic_fetch_or_explicit(&c->refresh, why, memory_order_release);
    lc_wake_writable(c->wsi, 0);
}

void lc_ws_stream_session_event(lc_server *srv, lc_session_event ev, const lc_session_info *s)
{
    if (ev != LC_SESSION_UPDATED && ev != LC_SESSION_REMOVED)
        return;
    LC_DLL_EACH(d, &srv->audio_conns) {
        ws_pss *c = lws_container_of(d, ws_pss, link);
        if (c->attached && !strcmp(c->id, s->id))
            flag_refresh(c, REFRESH_SESSION); /* a removed one finds it gone and closes */
    }
}

void lc_ws_stream_group_event(lc_server *srv)
{
    /* Rare (a person changes a room), so every connection looks again rather than the table
     * naming the members that were, are, or were not in the group. */
    LC_DLL_EACH(d, &srv->audio_conns) {
        ws_pss *c = lws_container_of(d, ws_pss, link);
        if (c->attached)
            flag_refresh(c, REFRESH_GROUP);
    }
}

void lc_ws_stream_live(lc_server *srv, const char *id, lc_api_live *out)
{
    uint64_t newest = 0;
    LC_DLL_EACH(d, &srv->audio_conns) {
        ws_pss *c = lws_container_of(d, ws_pss, link);
        if (!c->attached || strcasecmp(c->id, id))
            continue;
        out->packets_sent += atomic_load_explicit(&c->sent, memory_order_relaxed);
        out->packets_dropped += atomic_load_explicit(&c->dropped, memory_order_relaxed);
        if (c->connected_ns >= newest) {
            newest = c->connected_ns;
            snprintf(out->remote, sizeof out->remote, "%s", c->remote);
            snprintf(out->user_agent, sizeof out->user_agent, "%s", c->user_agent);
            out->delay_ms = c->latency_ms > 0 ? (int)(c->latency_ms + 0.5f) : -1;
            out->has_sync_error = c->has_sync_error;
            out->sync_error_ms =
                (int)(c->sync_error_ms + (c->sync_error_ms < 0 ? -0.5f : 0.5f)); /* ±1 h: fits */
            out->decoder = lc_control_decoder_name((lc_control_decoder)c->decoder);
            out->output = lc_control_output_name((lc_control_output)c->output);
        }
    }
    lc_ogg_http_live(srv, id, out);
    /* The stream it hears, from the table (its group's, or its own if that still exists): its
     * connections follow it at their worker's next write, perhaps after this answer. */
    lc_session_info s;
    lc_group_info g;
    bool grouped;
    if (lc_sessions_view(srv->sessions, id, &s, &g, &grouped) == 0)
        out->stream = lc_feed_heard(srv, &s, grouped ? &g : NULL)->def->name;
}

/* Its audio connections on a stream in `mask` (bit = lc_feed.index) get a `source` message. */
static void source_changed(lc_worker *w, unsigned mask)
{
    lc_mutex_lock(w->srv->mu);
    LC_DLL_EACH(d, &w->srv->audio_conns) {
        ws_pss *c = lws_container_of(d, ws_pss, link);
        if ((mask & (1u << c->feed->index)) && lc_worker_of(c->wsi) == w) {
            c->source_pending = true;
            lws_callback_on_writable(c->wsi);
        }
    }
    lc_mutex_unlock(w->srv->mu);
}

/* EVENT_WAIT_CANCELLED on worker `w`: sockets handed to it, packets, a stop, or flags another
 * worker set for it (worker.c). */
static void woken(lc_worker *w)
{
    lc_server *srv = w->srv;
    lc_worker_adopt(w);
    unsigned what = atomic_exchange_explicit(&w->wake, 0, memory_order_acquire);
    unsigned changed = atomic_exchange_explicit(&w->source_changed, 0, memory_order_acquire);
    /* New packets, a stop, or a flag on one of its audio connections: every audio connection
     * writes or asks to; wakes coalesce, so each drains what it can. */
    fan_out(w);
    if (changed)
        source_changed(w, changed);
    if (what & LC_WAKE_EVENTS)
        lws_callback_on_writable_all_protocol(w->ctx, &srv->protocols[LC_PROTO_EVENTS]);
    lc_ogg_http_wake(w); /* the /stream.ogg listeners are HTTP connections */
}

/* Only /stream upgrades to the audio protocol (protocol.md); the path is checked here, before
 * the 101 goes out. */
static int filter(struct lws *wsi, lc_server *srv)
{
    char uri[64];
    if (lc_server_stopping(srv))
        return -1;
    if (lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI) <= 0 || strcmp(uri, "/stream"))
        return -1;
    return 0;
}

static int callback_locked(struct lws *wsi, enum lws_callback_reasons reason, ws_pss *pss,
                           void *in, size_t len)
{
    lc_server *srv = lc_server_of(wsi);
    switch (reason) {
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
        /* Comes to the vhost's default protocol, which is this one (server.c's pvo). */
        return lc_clients_confirm_upgrade(wsi, srv);
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        return filter(wsi, srv);
    case LWS_CALLBACK_ESTABLISHED:
        on_established(wsi, srv, pss);
        return 0;
    case LWS_CALLBACK_RECEIVE:
        return on_receive(wsi, srv, pss, in, len);
    case LWS_CALLBACK_CLOSED:
        /* lws calls CLOSED for an upgrade its filter refused too, which never reached
         * ESTABLISHED: its pss is still zeroed, on no list (lws_dll2_remove lets it be). */
        lws_dll2_remove(&pss->own);
        if (pss->counted)
            lc_feed_listener_remove(pss->feed, wsi);
        pss->counted = false;
        lws_dll2_remove(&pss->link);
        if (pss->attached)
            lc_sessions_detach(srv->sessions, pss->id);
        pss->attached = false;
        free(pss->rx);
        pss->rx = NULL;
        return 0;
    default:
        return 0;
    }
}

int lc_ws_stream_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
                          void *in, size_t len)
{
    ws_pss *pss = user;
    lc_server *srv;
    int rc;

    switch (reason) {
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        /* No wsi user data here (it is the context's own pipe): packets, a stop, a hand-over or
         * a flag from another worker (worker.c). */
        if (lc_worker_of(wsi))
            woken(lc_worker_of(wsi));
        return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return on_writeable(wsi, lc_server_of(wsi), pss); /* locks only for what it shares */
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        /* The answer to our own close (lc_ws_close_pending): nonzero = hang up now, without
         * lws echoing a second close frame, which browsers take as a protocol error (1006). */
        if (pss)
            pss->peer_closing = true; /* fan_out writes it nothing more */
        return pss && pss->close_sent;
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
    case LWS_CALLBACK_ESTABLISHED:
    case LWS_CALLBACK_RECEIVE:
    case LWS_CALLBACK_CLOSED:
        srv = lc_server_of(wsi);
        lc_mutex_lock(srv->mu);
        rc = callback_locked(wsi, reason, pss, in, len);
        lc_mutex_unlock(srv->mu);
        return rc;
    default:
        return 0;
    }
}
