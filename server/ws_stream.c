/*
 * ws_stream.c — the audio WebSocket (/stream, subprotocol "loopcast.v1" or none).
 *
 * Per connection: a cursor into the shared ring (= this listener's queue), a few pending text
 * replies, the client's own settings. Everything here runs on the lws thread.
 *
 * Send order per WRITEABLE (one lws_write each, as lws requires): a pending close, then the
 * hello, then `time` answers, then an `error`, then the next audio packet. Text first so a ping
 * is answered within one packet time even while audio is flowing.
 *
 * Memory per idle listener is this struct (~300 bytes) plus lws's own per-connection state and
 * its rx buffer (rx_buffer_size 512 + LWS_PRE, see server.c); a control message that arrives in
 * pieces borrows a 4 KiB reassembly buffer only until it is complete.
 */
#include "internal.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "control.h"
#include "session.h"

#define MAX_PINGS 4

typedef struct ws_pss {
    uint64_t cursor;        /* ring position of the next packet to send */
    uint64_t sent, dropped; /* packets to this listener / skipped for it */
    double ping_t[MAX_PINGS];
    uint8_t ping_n;         /* pending `time` answers */
    uint8_t has_ping_t[MAX_PINGS];
    bool counted;           /* included in srv->listeners */
    bool hello_pending;
    bool resync;            /* next audio packet carries the discontinuity flag */
    bool rx_too_large;      /* the message being reassembled went over the limit */
    bool bad_session;       /* ?session= was malformed: close 1008 at the first writeable */
    uint16_t close_code;    /* nonzero: close with this code at the next writeable */
    int err_rc;             /* pending `error` (an lc_control_parse result), 0 = none */
    char err_msg[96];
    char id[LC_SESSION_ID_LEN + 1];
    /* The listener's own settings (the sessions issue binds them to the session table). */
    int volume;
    bool muted;
    char name[LC_CONTROL_NAME_MAX + 1];
    /* The page's latest playout figures. */
    float buffer_ms, latency_ms;
    int64_t underruns;
    uint8_t decoder, output;
    /* Reassembly of a fragmented text message; NULL unless one is in flight. */
    char *rx;
    uint16_t rx_len;
} ws_pss;

size_t lc_ws_pss_size(void) { return sizeof(ws_pss); }

static lc_server *server_of(struct lws *wsi)
{
    return lws_context_user(lws_get_context(wsi));
}

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
    if (strlen(v) != LC_SESSION_ID_LEN || !lc_session_id_valid(v))
        return -1;
    for (int i = 0; i < LC_SESSION_ID_LEN; i++)
        out[i] = (char)((v[i] >= 'A' && v[i] <= 'F') ? v[i] - 'A' + 'a' : v[i]);
    out[LC_SESSION_ID_LEN] = '\0';
    return 1;
}

static int write_text(struct lws *wsi, lc_server *srv, const char *s, size_t n)
{
    if (n > LC_TXBUF)
        return -1;
    memcpy(srv->txbuf + LWS_PRE, s, n);
    return lws_write(wsi, srv->txbuf + LWS_PRE, n, LWS_WRITE_TEXT) < (int)n ? -1 : 0;
}

static int send_hello(struct lws *wsi, lc_server *srv, ws_pss *pss)
{
    const lc_opus_config *oc = lc_opus_get_config(srv->enc);
    lc_opus_stats st;
    lc_opus_get_stats(srv->enc, &st);
    cJSON *root = cJSON_CreateObject(), *o;
    char *text = NULL;
    int rc = -1;
    if (!root)
        return -1;
    cJSON_AddStringToObject(root, "type", "hello");
    cJSON_AddNumberToObject(root, "protocol", LC_PROTOCOL_VERSION);
    if (!(o = cJSON_AddObjectToObject(root, "server")))
        goto out;
    cJSON_AddStringToObject(o, "version", LC_VERSION);
    cJSON_AddNumberToObject(o, "time_ns", (double)lc_now_ns());
    if (!(o = cJSON_AddObjectToObject(root, "session")))
        goto out;
    cJSON_AddStringToObject(o, "id", pss->id);
    cJSON_AddStringToObject(o, "name", pss->name);
    cJSON_AddNumberToObject(o, "volume", pss->volume);
    cJSON_AddBoolToObject(o, "muted", pss->muted);
    cJSON_AddBoolToObject(o, "persist", true);
    if (!(o = cJSON_AddObjectToObject(root, "codec")))
        goto out;
    cJSON_AddStringToObject(o, "name", "opus");
    cJSON_AddNumberToObject(o, "sample_rate", LC_OPUS_RATE);
    cJSON_AddNumberToObject(o, "channels", oc->channels);
    cJSON_AddNumberToObject(o, "frame_samples", lc_opus_frame_samples(srv->enc));
    cJSON_AddNumberToObject(o, "frame_ms", oc->frame_us / 1000.0);
    cJSON_AddNumberToObject(o, "bitrate", oc->bitrate);
    cJSON_AddNumberToObject(o, "lookahead", st.lookahead);
    if (!(o = cJSON_AddObjectToObject(root, "source")))
        goto out;
    cJSON_AddStringToObject(o, "uri", lc_capture_uri(srv->cap));
    cJSON_AddStringToObject(o, "state", lc_capture_state_name(lc_capture_get_state(srv->cap)));
    text = cJSON_PrintUnformatted(root);
    if (text)
        rc = write_text(wsi, srv, text, strlen(text));
out:
    cJSON_free(text);
    cJSON_Delete(root);
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

/* One audio packet, if the cursor has one. */
static int send_audio(struct lws *wsi, lc_server *srv, ws_pss *pss)
{
    size_t len = 0;
    uint32_t dropped = 0;
    uint8_t *pkt = srv->txbuf + LWS_PRE;
    if (pss->muted) {
        /* A muted session is sent no audio: keep its cursor at live, flag the gap on unmute. */
        pss->cursor = lc_stream_published(srv->ring);
        pss->resync = true;
        return 0;
    }
    int rc = lc_stream_read(srv->ring, &pss->cursor, pkt, LC_TXBUF, &len, &dropped);
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
    pss->sent++;
    pss->dropped += dropped;
    srv->packets_sent++;
    srv->packets_dropped += dropped;
    srv->bytes_sent += len;
    if (lc_stream_pending(srv->ring, pss->cursor))
        lws_callback_on_writable(wsi);
    return 0;
}

static int on_writeable(struct lws *wsi, lc_server *srv, ws_pss *pss)
{
    uint16_t code = pss->close_code;
    const char *why = "";
    if (!code && srv->stopping)
        code = LWS_CLOSE_STATUS_GOINGAWAY;
    if (code) {
        switch (code) {
        case LWS_CLOSE_STATUS_GOINGAWAY: why = "server shutting down"; break;
        case LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE: why = "binary messages are not accepted"; break;
        case LWS_CLOSE_STATUS_POLICY_VIOLATION: why = "malformed session id"; break;
        case 1013: why = "listener limit reached, try again later"; break;
        default: break;
        }
        lws_close_reason(wsi, (enum lws_close_status)code, (unsigned char *)why, strlen(why));
        return -1;
    }
    int rc;
    if (pss->hello_pending) {
        pss->hello_pending = false;
        rc = send_hello(wsi, srv, pss);
    } else if (pss->ping_n) {
        rc = send_time(wsi, srv, pss);
    } else if (pss->err_rc) {
        rc = send_error(wsi, srv, pss);
    } else {
        return send_audio(wsi, srv, pss);
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
    (void)srv;
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
    case LC_CONTROL_SET:
        if (m.has_volume)
            pss->volume = m.volume;
        if (m.has_muted)
            pss->muted = m.muted;
        if (m.has_name)
            memcpy(pss->name, m.name, sizeof pss->name);
        break;
    case LC_CONTROL_STATS:
        if (m.buffer_ms >= 0)
            pss->buffer_ms = (float)m.buffer_ms;
        if (m.latency_ms >= 0)
            pss->latency_ms = (float)m.latency_ms;
        if (m.underruns >= 0)
            pss->underruns = m.underruns;
        if (m.decoder)
            pss->decoder = (uint8_t)m.decoder;
        if (m.output)
            pss->output = (uint8_t)m.output;
        break;
    }
}

static int on_receive(struct lws *wsi, lc_server *srv, ws_pss *pss, const char *in, size_t len)
{
    if (lws_frame_is_binary(wsi)) {
        pss->close_code = LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE;
        lws_callback_on_writable(wsi);
        return 0;
    }
    int first = lws_is_first_fragment(wsi);
    int final = lws_is_final_fragment(wsi);
    if (first && final && !pss->rx) {
        handle_message(srv, pss, in, len); /* the usual case: no copy */
    } else {
        if (first) {
            pss->rx_len = 0;
            pss->rx_too_large = false;
        }
        if (!pss->rx_too_large) {
            if (!pss->rx && !(pss->rx = malloc(LC_CONTROL_MAX)))
                return -1;
            if ((size_t)pss->rx_len + len > LC_CONTROL_MAX) {
                pss->rx_too_large = true;
            } else {
                memcpy(pss->rx + pss->rx_len, in, len);
                pss->rx_len = (uint16_t)(pss->rx_len + len);
            }
        }
        if (!final)
            return 0;
        if (pss->rx_too_large)
            handle_message(srv, pss, NULL, LC_CONTROL_MAX + 1); /* -> too_large */
        else
            handle_message(srv, pss, pss->rx, pss->rx_len);
        free(pss->rx);
        pss->rx = NULL;
        pss->rx_len = 0;
    }
    lws_callback_on_writable(wsi);
    return 0;
}

static void on_established(struct lws *wsi, lc_server *srv, ws_pss *pss)
{
    memset(pss, 0, sizeof *pss);
    pss->volume = 100;
    pss->cursor = lc_stream_cursor_new(srv->ring);
    pss->hello_pending = true;
    int s = session_from_request(wsi, pss->id);
    if (s < 0) {
        pss->close_code = LWS_CLOSE_STATUS_POLICY_VIOLATION;
    } else if (s == 0 && lc_session_id_new(pss->id)) {
        pss->close_code = LWS_CLOSE_STATUS_UNEXPECTED_CONDITION;
    } else if (srv->listeners >= srv->cfg.max_listeners) {
        pss->close_code = 1013; /* try again later */
        srv->ws_refused++;
    } else {
        srv->listeners++;
        pss->counted = true;
        srv->ws_accepted++;
        /* A small kernel send buffer bounds how much audio can queue behind a slow reader
         * outside our ring (see server.c). */
        int fd = lws_get_socket_fd(wsi);
        if (fd >= 0)
            setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &srv->sndbuf, sizeof srv->sndbuf);
    }
    lws_callback_on_writable(wsi);
}

/* Only /stream upgrades to the audio protocol (protocol.md); the path is checked here, before
 * the 101 goes out. */
static int filter(struct lws *wsi, lc_server *srv)
{
    char uri[64];
    if (srv->stopping)
        return -1;
    if (lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI) <= 0 || strcmp(uri, "/stream"))
        return -1;
    return 0;
}

int lc_ws_stream_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
                          void *in, size_t len)
{
    ws_pss *pss = user;
    lc_server *srv;

    switch (reason) {
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        /* No wsi user data here (it is the context's own pipe). New packets, or a stop
         * request: ask every audio connection; wakes coalesce, so each drains what it can. */
        srv = server_of(wsi);
        if (srv && srv->ctx)
            lws_callback_on_writable_all_protocol(srv->ctx, &srv->protocols[LC_PROTO_STREAM]);
        return 0;
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        return filter(wsi, server_of(wsi));
    case LWS_CALLBACK_ESTABLISHED:
        on_established(wsi, server_of(wsi), pss);
        return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return on_writeable(wsi, server_of(wsi), pss);
    case LWS_CALLBACK_RECEIVE:
        return on_receive(wsi, server_of(wsi), pss, in, len);
    case LWS_CALLBACK_CLOSED:
        srv = server_of(wsi);
        if (pss->counted && srv->listeners)
            srv->listeners--;
        pss->counted = false;
        free(pss->rx);
        pss->rx = NULL;
        return 0;
    default:
        return 0;
    }
}
