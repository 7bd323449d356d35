/*
 * ws_events.c — the events WebSocket (/api/v1/events, subprotocol "loopcast.events.v1"). What
 * it pushes comes from fanout.c (session changes, source changes), already serialized.
 *
 * Auth: the Authorization header on the handshake, or a first message {"type":"auth","token":…}
 * within 5 s (browsers cannot set headers on a WebSocket). A wrong token closes with 1008 and
 * counts toward the per-address wrong-token limit (auth.c), which the REST API shares.
 * Then: a `hello` snapshot {sessions, status}, and every change after it.
 *
 * Queue: each client holds at most EV_QUEUE pending messages. Messages are built once and shared
 * between clients (refcounted; everything here runs under srv->mu, so a plain count). A client
 * may live on any worker: whoever queues for it wakes its worker (lc_wake_writable). A
 * client that falls EV_QUEUE messages behind has its queue dropped and gets a fresh `hello`
 * instead: the snapshot says everything the dropped messages said, its memory is bounded, and a
 * control panel resyncs instead of being disconnected (the admin page reads 1008 as "wrong
 * token", so closing a slow panel with it would log the operator out).
 */
#include "internal.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EV_QUEUE 256
#define EV_AUTH_TIMEOUT_US (5 * LWS_USEC_PER_SEC)
#define EV_MAX_RX 1024 /* an auth message is ~100 bytes */

typedef struct evmsg {
    unsigned refs;
    size_t len;
    unsigned char buf[]; /* LWS_PRE + len bytes: lws writes its frame header into the front */
} evmsg;

struct lc_ev_conn {
    struct lws *wsi;
    lws_dll2_t link;         /* srv->ev_conns; this whole struct: under srv->mu */
    bool authed, counted, hello_pending;
    bool close_sent;         /* our close frame is out: waiting for the client's */
    uint16_t close_code;
    const char *close_why;
    evmsg *q[EV_QUEUE];      /* ring of pending messages */
    unsigned q_head, q_len;
    char peer[LC_ADDR_MAX];  /* the client's address (lc_client_addr) */
    size_t rx_len;           /* bytes of the message arriving now (--max-msg-bytes) */
    bool rx_more;            /* a message is part-way in */
    lc_bucket rate;          /* --max-msg-rate */
};

size_t lc_ws_events_pss_size(void) { return sizeof(lc_ev_conn); }

static evmsg *msg_new(const char *text, size_t len)
{
    evmsg *m = malloc(sizeof *m + LWS_PRE + len);
    if (!m)
        return NULL;
    m->refs = 0;
    m->len = len;
    memcpy(m->buf + LWS_PRE, text, len);
    return m;
}

static void msg_unref(evmsg *m)
{
    if (m && --m->refs == 0)
        free(m);
}

static void queue_clear(lc_ev_conn *c)
{
    while (c->q_len) {
        msg_unref(c->q[c->q_head]);
        c->q_head = (c->q_head + 1) % EV_QUEUE;
        c->q_len--;
    }
    c->q_head = 0;
}

/* Queues `m` on every authenticated client (one that still waits for its hello needs nothing:
 * the hello is built when it is sent). Frees `m` if nobody took it. */
static void broadcast(lc_server *srv, evmsg *m)
{
    m->refs = 1; /* ours, until the loop is done */
    LC_DLL_EACH(d, &srv->ev_conns) {
        lc_ev_conn *c = lws_container_of(d, lc_ev_conn, link);
        if (!c->authed || c->hello_pending || c->close_code)
            continue;
        if (c->q_len == EV_QUEUE) {
            lc_log(LC_LOG_WARN, LC_LOG_MOD, "events client %s is %d messages behind: dropping "
                   "them, sending a fresh hello", c->peer, EV_QUEUE);
            queue_clear(c);
            c->hello_pending = true;
        } else {
            c->q[(c->q_head + c->q_len) % EV_QUEUE] = m;
            c->q_len++;
            m->refs++;
        }
        lc_wake_writable(c->wsi, LC_WAKE_EVENTS);
    }
    msg_unref(m);
}

static void broadcast_text(lc_server *srv, char *text)
{
    evmsg *m = text ? msg_new(text, strlen(text)) : NULL;
    free(text);
    if (m)
        broadcast(srv, m);
    else
        lc_log(LC_LOG_ERROR, LC_LOG_MOD, "events: out of memory, a change was not pushed");
}

void lc_ws_events_push(lc_server *srv, char *text)
{
    if (srv->events_clients)
        broadcast_text(srv, text);
    else
        free(text);
}

/* ---- one client ---------------------------------------------------------------------------- */

/* {"type":"hello","sessions":[…],"status":{…}}, from the REST handler's own answers to
 * GET /sessions and GET /status, so the snapshot can never differ from the API's shapes. */
static evmsg *build_hello(lc_server *srv)
{
    lc_api_request req = {.method = "GET", .authorization = srv->auth_header};
    lc_api_response list, status;
    evmsg *m = NULL;
    req.path = "/api/v1/sessions";
    lc_api_handle(srv->api, &req, &list);
    req.path = "/api/v1/status";
    lc_api_handle(srv->api, &req, &status);
    if (list.status == 200 && status.status == 200 && list.body_len > 2 && status.body) {
        /* list.body is {"sessions":[…]}: keep its inside, add the rest around it. */
        char *text = NULL;
        int n = asprintf(&text, "{\"type\":\"hello\",%.*s,\"status\":%s}",
                         (int)(list.body_len - 2), list.body + 1, status.body);
        if (n > 0)
            m = msg_new(text, (size_t)n);
        free(text);
    }
    lc_api_response_free(&list);
    lc_api_response_free(&status);
    if (m)
        m->refs = 1;
    return m;
}

static void close_with(lc_ev_conn *c, uint16_t code, const char *why)
{
    if (!c->close_code) {
        c->close_code = code;
        c->close_why = why;
    }
    lws_callback_on_writable(c->wsi);
}

static void authenticate(lc_server *srv, lc_ev_conn *c, bool ok)
{
    if (!ok) {
        lc_auth_failed(srv, c->peer, "events");
        close_with(c, LWS_CLOSE_STATUS_POLICY_VIOLATION, "unauthorized");
        return;
    }
    c->authed = true;
    c->counted = true;
    c->hello_pending = true;
    srv->events_clients++;
    lws_set_timer_usecs(c->wsi, LWS_SET_TIMER_USEC_CANCEL);
    lws_callback_on_writable(c->wsi);
}

static void on_established(struct lws *wsi, lc_server *srv, lc_ev_conn *c)
{
    char auth[LC_CONFIG_TOKEN_MAX + 16];
    unsigned retry;
    memset(c, 0, sizeof *c);
    c->wsi = wsi;
    lc_client_addr(wsi, srv, c->peer);
    lc_bucket_init(&c->rate, srv->cfg.max_msg_rate, lc_now_ns());
    lws_dll2_add_head(&c->link, &srv->ev_conns);
    lc_worker_of(wsi)->ev_open++;
    if (lc_auth_blocked(srv, c->peer, &retry)) {
        lc_refused(srv, LC_REFUSED_AUTH);
        close_with(c, LWS_CLOSE_STATUS_POLICY_VIOLATION, "too many wrong tokens, try later");
        return;
    }
    int n = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_AUTHORIZATION);
    if (n > 0) {
        /* Longer than any token we accept: certainly wrong. */
        bool ok = (size_t)n < sizeof auth &&
                  lws_hdr_copy(wsi, auth, sizeof auth, WSI_TOKEN_HTTP_AUTHORIZATION) > 0 &&
                  lc_api_authorized(srv->api, auth);
        OPENSSL_cleanse(auth, sizeof auth);
        authenticate(srv, c, ok);
        return;
    }
    lws_set_timer_usecs(wsi, EV_AUTH_TIMEOUT_US);
}

/* Before authentication the only message is {"type":"auth","token":"…"}; after it, client
 * messages have no meaning yet and are ignored (a newer panel may send some). */
/* --max-msg-bytes and --max-msg-rate, as on the audio socket: 0 = go on, 1 = closing. */
static int check_limits(lc_server *srv, lc_ev_conn *c, size_t len)
{
    bool starts = !c->rx_more;
    c->rx_len = (starts ? 0 : c->rx_len) + len;
    c->rx_more = !lws_is_final_fragment(c->wsi);
    if (starts && !lc_bucket_take(&c->rate, srv->cfg.max_msg_rate, lc_now_ns())) {
        lc_refused(srv, LC_REFUSED_MSG_RATE);
        lc_refusal_log(srv, "events client %s: over --max-msg-rate %u messages/s: closing "
                       "(1008)", c->peer, srv->cfg.max_msg_rate);
        close_with(c, LWS_CLOSE_STATUS_POLICY_VIOLATION, "rate limit");
        return 1;
    }
    if (c->rx_len > srv->cfg.max_msg_bytes) {
        lc_refused(srv, LC_REFUSED_MSG_SIZE);
        lc_refusal_log(srv, "events client %s: message over --max-msg-bytes %u: closing (1009)",
                       c->peer, srv->cfg.max_msg_bytes);
        close_with(c, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, "message too big");
        return 1;
    }
    return 0;
}

static void on_receive(lc_server *srv, lc_ev_conn *c, const char *in, size_t len)
{
    if (c->close_code || check_limits(srv, c, len) || c->authed)
        return;
    if (!lws_is_first_fragment(c->wsi) || !lws_is_final_fragment(c->wsi) || len > EV_MAX_RX) {
        authenticate(srv, c, false);
        return;
    }
    char auth[LC_CONFIG_TOKEN_MAX + 16];
    bool ok = false;
    cJSON *root = cJSON_ParseWithLengthOpts(in, len, NULL, 0);
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(root, "type");
    const cJSON *tok = cJSON_GetObjectItemCaseSensitive(root, "token");
    if (cJSON_IsString(type) && !strcmp(type->valuestring, "auth") && cJSON_IsString(tok) &&
        strlen(tok->valuestring) <= LC_CONFIG_TOKEN_MAX) {
        snprintf(auth, sizeof auth, "Bearer %s", tok->valuestring);
        ok = lc_api_authorized(srv->api, auth);
        OPENSSL_cleanse(auth, sizeof auth);
    }
    if (tok && cJSON_IsString(tok))
        OPENSSL_cleanse(tok->valuestring, strlen(tok->valuestring));
    cJSON_Delete(root);
    authenticate(srv, c, ok);
}

static int on_writeable(struct lws *wsi, lc_server *srv, lc_ev_conn *c)
{
    evmsg *m;
    int closing = lc_ws_close_pending(wsi, srv, c->close_code, c->close_why, &c->close_sent);
    if (closing)
        return closing == 1 ? -1 : 0;
    if (!c->authed)
        return 0;
    if (c->hello_pending) {
        /* The snapshot already says what the queue would: drop it. */
        queue_clear(c);
        c->hello_pending = false;
        if (!(m = build_hello(srv)))
            return -1;
    } else if (c->q_len) {
        m = c->q[c->q_head];
        c->q_head = (c->q_head + 1) % EV_QUEUE;
        c->q_len--;
    } else {
        return 0;
    }
    int n = lws_write(wsi, m->buf + LWS_PRE, m->len, LWS_WRITE_TEXT);
    int rc = n < (int)m->len ? -1 : 0;
    msg_unref(m);
    if (!rc && (c->q_len || c->hello_pending))
        lws_callback_on_writable(wsi);
    return rc;
}

static void on_closed(lc_server *srv, lc_ev_conn *c)
{
    queue_clear(c);
    if (c->counted && srv->events_clients)
        srv->events_clients--;
    c->counted = false;
    if (lws_dll2_is_detached(&c->link))
        return;
    lc_worker *w = lc_worker_of(c->wsi);
    if (w->ev_open)
        w->ev_open--;
    lws_dll2_remove(&c->link);
}

/* Only /api/v1/events speaks this subprotocol; checked before the 101 goes out. */
static int filter(struct lws *wsi, lc_server *srv)
{
    char uri[64];
    if (lc_server_stopping(srv))
        return -1;
    if (lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI) <= 0 ||
        strcmp(uri, "/api/v1/events"))
        return -1;
    return 0;
}

static int callback_locked(struct lws *wsi, enum lws_callback_reasons reason, lc_ev_conn *c,
                           void *in, size_t len)
{
    lc_server *srv = lc_server_of(wsi);
    switch (reason) {
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE: /* should lws ever send it here rather than to the
                                             * default protocol (ws_stream.c) */
        return lc_clients_confirm_upgrade(wsi, srv);
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        return filter(wsi, srv);
    case LWS_CALLBACK_ESTABLISHED:
        on_established(wsi, srv, c);
        return 0;
    case LWS_CALLBACK_RECEIVE:
        on_receive(srv, c, in, len);
        return 0;
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        return c && c->close_sent; /* as in ws_stream.c: no second close frame */
    case LWS_CALLBACK_TIMER:
        if (c && !c->authed)
            close_with(c, LWS_CLOSE_STATUS_POLICY_VIOLATION, "authentication timeout");
        return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return on_writeable(wsi, srv, c);
    case LWS_CALLBACK_CLOSED:
        on_closed(srv, c);
        return 0;
    default:
        return 0;
    }
}

int lc_ws_events_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
                          void *in, size_t len)
{
    switch (reason) {
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
    case LWS_CALLBACK_ESTABLISHED:
    case LWS_CALLBACK_RECEIVE:
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
    case LWS_CALLBACK_TIMER:
    case LWS_CALLBACK_SERVER_WRITEABLE:
    case LWS_CALLBACK_CLOSED: {
        /* Everything here is shared between the workers (srv->mu): events are rare. */
        lc_server *srv = lc_server_of(wsi);
        lc_mutex_lock(srv->mu);
        int rc = callback_locked(wsi, reason, user, in, len);
        lc_mutex_unlock(srv->mu);
        return rc;
    }
    default:
        return 0;
    }
}
