/*
 * clients.c — who a connection is and what it may do before any protocol code runs: the
 * client's address (the peer, or behind a trusted proxy the X-Forwarded-For client), open
 * connections per address, the WebSocket upgrade gate (per-address limit, Origin), and the
 * refusal counters /metrics shows. The parsing is pure (limits.c); this file is the lws glue.
 *
 * Counting connections: lws offers no per-connection storage between accept and the first
 * request, and a connection that never sends one must still be counted (a raw TCP flood) and
 * uncounted when it goes. So FILTER_NETWORK_CONNECTION (the peer address, the listen socket's
 * callback) leaves the address in the worker's `pending`, the WSI_CREATE that lws issues right
 * after it, on the same thread, files it under the new connection's pointer (lc_connmap), and
 * WSI_DESTROY, the last callback any connection gets, gives the count back. A socket handed to
 * another worker (worker.c) carries its `pending` along, for that worker's WSI_CREATE.
 *
 * Behind a trusted proxy the peer is the proxy: its connections are not counted at accept but
 * at each request, under the forwarded client address (the proxy may carry several clients on
 * one keep-alive connection over time, so the count moves with the address).
 *
 * Everything here runs on a worker holding srv->mu.
 */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Connections past this many times the limit are closed at accept, before lws reads a byte: a
 * flood costs us a socket only for as long as accept() + close(). Between the limit and this,
 * a connection is kept just long enough to answer its request with a 429 the client can read. */
#define HARD_FACTOR 2u

/* Refusal log lines: bursts of 10, then 5 per second; the rest are counted and summarised in
 * the next line that gets through (a flood must not turn into a disk-filling log). */
#define LOG_RATE 5u

static const char *const REFUSAL_NAMES[LC_REFUSED_COUNT_] = {
    [LC_REFUSED_CONNS_PER_IP] = "conns_per_ip", [LC_REFUSED_LISTENERS] = "listeners",
    [LC_REFUSED_SESSIONS] = "sessions",         [LC_REFUSED_BODY] = "body_too_large",
    [LC_REFUSED_MSG_SIZE] = "msg_too_large",    [LC_REFUSED_MSG_RATE] = "msg_rate",
    [LC_REFUSED_ORIGIN] = "origin",             [LC_REFUSED_AUTH] = "auth",
};

const char *lc_refusal_name(lc_refusal r)
{
    return (unsigned)r < LC_REFUSED_COUNT_ ? REFUSAL_NAMES[r] : "other";
}

void lc_refused(lc_server *srv, lc_refusal r)
{
    if ((unsigned)r < LC_REFUSED_COUNT_)
        srv->refused[r]++;
}

void lc_refusal_log(lc_server *srv, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    if (!lc_bucket_take(&srv->refusal_log, LOG_RATE, lc_now_ns())) {
        srv->refusal_log_dropped++;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (srv->refusal_log_dropped) {
        /* msg may hold client bytes: it goes through lc_log's escaping as a %s argument. */
        lc_log(LC_LOG_WARN, LC_LOG_MOD, "%s (and %llu more refusals not logged)", msg,
               (unsigned long long)srv->refusal_log_dropped);
        srv->refusal_log_dropped = 0;
    } else {
        lc_log(LC_LOG_WARN, LC_LOG_MOD, "%s", msg);
    }
}

int lc_clients_create(lc_server *srv)
{
    /* Every connection is a file descriptor and lws stops accepting at fd_limit_per_thread
     * (srv->fd_limit, server.c): the map must never be the smaller, or connections would go
     * uncounted per address. */
    size_t max = (size_t)srv->fd_limit + 256u;
    int rc = lc_iptab_create(&srv->conns_per_ip, max);
    if (!rc)
        rc = lc_connmap_create(&srv->conns, max);
    lc_bucket_init(&srv->refusal_log, LOG_RATE, lc_now_ns());
    return rc;
}

void lc_clients_destroy(lc_server *srv)
{
    lc_connmap_destroy(srv->conns);
    lc_iptab_destroy(srv->conns_per_ip);
    srv->conns = NULL;
    srv->conns_per_ip = NULL;
}

static bool key_trusted(const lc_server *srv, const uint8_t key[16])
{
    char text[LC_ADDR_MAX];
    if (!srv->cfg.n_trust_proxy)
        return false;
    lc_addr_text(key, text, sizeof text);
    return lc_config_cidr_match(srv->cfg.trust_proxy, srv->cfg.n_trust_proxy, text);
}

int lc_clients_filter_network(lc_worker *w, const struct lws_filter_network_conn_args *a)
{
    lc_server *srv = w->srv;
    uint8_t key[16];
    w->pending.valid = false;
    if (!a || lc_plat_sockaddr_key(&a->cli_addr, key))
        return 0; /* a Unix socket or unknown family: nothing to count by */
    bool proxy = key_trusted(srv, key);
    if (!proxy && srv->cfg.max_conns_per_ip &&
        lc_iptab_get(srv->conns_per_ip, key) >= srv->cfg.max_conns_per_ip * HARD_FACTOR) {
        char text[LC_ADDR_MAX];
        lc_addr_text(key, text, sizeof text);
        lc_refused(srv, LC_REFUSED_CONNS_PER_IP);
        lc_refusal_log(srv, "connection from %s closed at accept: %u open, over %u times "
                       "--max-conns-per-ip %u", text, lc_iptab_get(srv->conns_per_ip, key),
                       HARD_FACTOR, srv->cfg.max_conns_per_ip);
        return 1;
    }
    memcpy(w->pending.key, key, sizeof key);
    w->pending.proxy = proxy;
    w->pending.valid = true;
    return 0;
}

/* Counts `key` for the record; over = past the limit (or the table is full). */
static void count_in(lc_server *srv, lc_conn_rec *r, const uint8_t key[16])
{
    unsigned n = lc_iptab_add(srv->conns_per_ip, key);
    memcpy(r->key, key, 16);
    r->counted = n > 0;
    r->over = n == 0 || (srv->cfg.max_conns_per_ip && n > srv->cfg.max_conns_per_ip);
}

void lc_clients_wsi_create(lc_server *srv, struct lws *wsi)
{
    lc_worker *w = lc_worker_of(wsi);
    if (!w->pending.valid)
        return; /* not an accepted connection (or one we could not read an address for) */
    w->pending.valid = false;
    lc_conn_rec *r = lc_connmap_put(srv->conns, wsi);
    if (!r)
        return; /* cannot happen while the map is larger than lws's fd limit */
    w->conns++;
    r->via_proxy = w->pending.proxy;
    if (!r->via_proxy)
        count_in(srv, r, w->pending.key);
}

void lc_clients_wsi_destroy(lc_server *srv, struct lws *wsi)
{
    if (!srv->conns)
        return;
    lc_conn_rec *r = lc_connmap_get(srv->conns, wsi);
    if (!r)
        return;
    if (r->counted)
        lc_iptab_del(srv->conns_per_ip, r->key);
    lc_connmap_del(srv->conns, wsi);
    lc_worker *w = lc_worker_of(wsi);
    if (w->conns)
        w->conns--;
}

/* A header as a NUL-terminated string in buf; "" when absent, NULL when longer than buf. */
static const char *hdr(struct lws *wsi, enum lws_token_indexes h, char *buf, int cap)
{
    buf[0] = '\0';
    if (lws_hdr_total_length(wsi, h) <= 0)
        return buf;
    return lws_hdr_copy(wsi, buf, cap, h) < 0 ? NULL : buf;
}

bool lc_client_addr(struct lws *wsi, lc_server *srv, char out[LC_ADDR_MAX])
{
    uint8_t key[16];
    char peer[LC_ADDR_MAX];
    bool tls = lws_is_ssl(wsi) != 0;

    lws_get_peer_simple(wsi, peer, sizeof peer);
    if (lc_addr_parse(peer, strlen(peer), key)) {
        snprintf(out, LC_ADDR_MAX, "%s", peer[0] ? peer : "?");
        return tls;
    }
    lc_addr_text(key, out, LC_ADDR_MAX);
    if (!key_trusted(srv, key))
        return tls; /* X-Forwarded-* from anyone else are ignored completely */

    int n = lws_hdr_total_length(wsi, WSI_TOKEN_X_FORWARDED_FOR);
    if (n > 0) {
        char *xff = malloc((size_t)n + 1);
        char client[LC_ADDR_MAX];
        if (xff && lws_hdr_copy(wsi, xff, n + 1, WSI_TOKEN_X_FORWARDED_FOR) >= 0) {
            int rc = lc_xff_client(xff, srv->cfg.trust_proxy, srv->cfg.n_trust_proxy, client,
                                   sizeof client);
            if (!rc)
                snprintf(out, LC_ADDR_MAX, "%s", client);
            else if (rc == LC_ERR_INVALID)
                lc_refusal_log(srv, "proxy %s sent an X-Forwarded-For whose client entry is "
                               "not an address ('%.80s'): using the proxy's address", out, xff);
        }
        free(xff);
    }
    char xfp[64];
    int len = lws_hdr_custom_length(wsi, "x-forwarded-proto:", 18);
    if (len > 0 && len < (int)sizeof xfp &&
        lws_hdr_custom_copy(wsi, xfp, (int)sizeof xfp, "x-forwarded-proto:", 18) > 0) {
        int https = lc_xfp_https(xfp);
        if (https >= 0)
            tls = https == 1;
    }
    return tls;
}

static bool over_limit(struct lws *wsi, lc_server *srv, const char *addr)
{
    uint8_t key[16];
    lc_conn_rec *r = lc_connmap_get(srv->conns, wsi);
    if (!r || !srv->cfg.max_conns_per_ip)
        return false;
    if (r->via_proxy && !lc_addr_parse(addr, strlen(addr), &key[0]) &&
        (!r->counted || memcmp(r->key, key, 16))) {
        /* A proxied request: count it under the client it carries now. */
        if (r->counted)
            lc_iptab_del(srv->conns_per_ip, r->key);
        count_in(srv, r, key);
    }
    return r->over;
}

/* The per-address limit, answered on a request: counted, logged (rate-limited), true = refuse. */
bool lc_clients_refuse_request(struct lws *wsi, lc_server *srv, const char *addr)
{
    if (!over_limit(wsi, srv, addr))
        return false;
    lc_refused(srv, LC_REFUSED_CONNS_PER_IP);
    lc_refusal_log(srv, "request from %s refused (429): more than --max-conns-per-ip %u "
                   "connections open", addr, srv->cfg.max_conns_per_ip);
    return true;
}

int lc_clients_confirm_upgrade(struct lws *wsi, lc_server *srv)
{
    char addr[LC_ADDR_MAX], origin_buf[512], host_buf[300];
    bool https = lc_client_addr(wsi, srv, addr);

    if (lc_clients_refuse_request(wsi, srv, addr))
        return lc_http_error_now(wsi, 429, "too_many_connections",
                                 "too many connections from this address; close some and "
                                 "try again", true);
    const char *origin = hdr(wsi, WSI_TOKEN_ORIGIN, origin_buf, sizeof origin_buf);
    const char *host = hdr(wsi, WSI_TOKEN_HOST, host_buf, sizeof host_buf);
    if (origin && lc_origin_allowed(origin, host, https, srv->cfg.allow_origin))
        return 0;
    lc_refused(srv, LC_REFUSED_ORIGIN);
    /* Same host, other scheme: almost always a TLS proxy in front whose X-Forwarded-Proto we
     * were not told to believe. Say so, since the 403 alone leaves the operator guessing. */
    bool scheme_only = origin && lc_origin_allowed(origin, host, !https, NULL);
    /* The origin and host are the client's bytes: %.100s truncates, lc_log escapes. */
    lc_refusal_log(srv, "WebSocket upgrade from %s refused (403): Origin '%.100s' is neither "
                   "this page's origin (%s://%.100s) nor in --allow-origin%s", addr,
                   origin ? origin : "(longer than 511 bytes)", https ? "https" : "http",
                   host ? host : "?",
                   scheme_only ? " (behind a TLS proxy? start loopcast with --trust-proxy "
                                 "<the proxy's address>)"
                               : "");
    return lc_http_error_now(wsi, 403, "origin_not_allowed",
                             "this page's Origin may not open this WebSocket (see "
                             "--allow-origin)", false);
}
