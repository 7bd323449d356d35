/*
 * http.c — every plain HTTP request: the pages (built in, or --web-root), /healthz, /readyz,
 * /metrics, the REST API under /api/v1 (api_http.c → lc_api_handle), and the error answers.
 *
 * One response shape for all of them: headers (with our own security headers, never lws's
 * "best practices" set, whose fixed CSP blocks the WASM decoder) written in LWS_CALLBACK_HTTP,
 * then the body in pieces of at most CHUNK bytes, one lws_write() per HTTP_WRITEABLE, the last
 * one LWS_WRITE_HTTP_FINAL. Bodies are either static (embedded assets) or owned by the
 * connection (generated text, files read from --web-root) and freed when it is done.
 */
#include "internal.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "web_assets.h"

#define CHUNK 16384u                 /* bytes per HTTP_WRITEABLE */
#define WEB_ROOT_MAX_FILE (64u << 20) /* a page asset larger than this is refused */

typedef struct http_pss {
    const uint8_t *body; /* what remains to send starts at body + off */
    size_t len, off;
    uint8_t *owned;      /* malloc'd body, freed when done */
    bool deferred;       /* a request body is arriving: answer at HTTP_BODY_COMPLETION */
    bool close_after;    /* hang up once the answer is out */
    char url[128];       /* the request path, kept for the deferred answer */
    char client[LC_ADDR_MAX]; /* lc_client_addr of the request, kept for the deferred answer */
    /* An API request's body, collected up to --max-body; past it the rest is read and
     * dropped (so the connection stays in step) and the answer is 413. */
    char *api_body;
    size_t api_len;
    bool api_too_large;
    lc_ogg_conn *ogg;    /* a /stream.ogg listener (ogg_http.c), NULL for anything else */
} http_pss;

size_t lc_http_pss_size(void) { return sizeof(http_pss); }

static void pss_reset(http_pss *pss)
{
    lc_ogg_http_free(pss->ogg);
    free(pss->owned);
    free(pss->api_body);
    memset(pss, 0, sizeof *pss);
}

/*
 * Sends status + headers now and queues the body. `owned` (may be NULL) is freed when done.
 * `extra_name/extra_val` add one more header (Allow:, ...). Returns what the callback returns.
 */
static int respond(struct lws *wsi, http_pss *pss, unsigned status, const char *mime,
                   const char *cache, const uint8_t *body, size_t len, uint8_t *owned,
                   bool head_only, const char *extra_name, const char *extra_val)
{
    uint8_t buf[LWS_PRE + 2048];
    unsigned char *start = buf + LWS_PRE, *p = start, *end = buf + sizeof buf - 1;

    pss_reset(pss);
    pss->owned = owned;
    bool close_after = pss->close_after;
    if (lws_add_http_common_headers(wsi, status, mime, len, &p, end) ||
        (close_after && lc_http_add_header(wsi, "connection:", "close", &p, end)) ||
        lc_http_add_security_headers(wsi, &p, end, cache) ||
        (extra_name && lc_http_add_header(wsi, extra_name, extra_val, &p, end)) ||
        lws_finalize_write_http_header(wsi, start, &p, end)) {
        pss_reset(pss);
        return -1;
    }
    if (head_only || len == 0) {
        pss_reset(pss);
        return lws_http_transaction_completed(wsi) ? -1 : 0;
    }
    pss->close_after = close_after; /* pss_reset cleared it */
    pss->body = body;
    pss->len = len;
    pss->off = 0;
    lws_callback_on_writable(wsi);
    return 0;
}

/* Body in CHUNK pieces; the last is HTTP_FINAL and ends the transaction. */
static int write_more(struct lws *wsi, http_pss *pss)
{
    uint8_t buf[LWS_PRE + CHUNK];
    if (!pss->body)
        return 0;
    size_t n = pss->len - pss->off;
    if (n > CHUNK)
        n = CHUNK;
    int final = pss->off + n == pss->len;
    memcpy(buf + LWS_PRE, pss->body + pss->off, n);
    if (lws_write(wsi, buf + LWS_PRE, n, final ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) !=
        (int)n)
        return -1;
    pss->off += n;
    if (!final) {
        lws_callback_on_writable(wsi);
        return 0;
    }
    if (pss->close_after)
        return -1;
    pss_reset(pss);
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

/* A malloc'd copy of a formatted string (the connection owns it). */
static uint8_t *fmt_body(size_t *len, const char *fmt, ...)
    LC_PRINTF(2, 3);
static uint8_t *fmt_body(size_t *len, const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    va_start(ap, fmt);
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    *len = (size_t)n;
    return (uint8_t *)s;
}

static int json_error(struct lws *wsi, http_pss *pss, unsigned status, const char *code,
                      const char *message, bool head_only, const char *allow)
{
    char esc[512];
    size_t len = 0;
    lc_json_escape(esc, sizeof esc, message);
    uint8_t *b = fmt_body(&len, "{\"error\":{\"code\":\"%s\",\"message\":\"%s\"}}\n", code, esc);
    if (!b)
        return -1;
    return respond(wsi, pss, status, "application/json", "no-store", b, len, b, head_only,
                   allow ? "allow:" : NULL, allow);
}

/* --web-root: the file for a URL path, read whole into memory. Path traversal is refused twice:
 * by the text (no "..", no backslash, no NUL) and by realpath() staying under the root, which
 * also catches symlinks pointing out of it. 0, LC_ERR_NOT_FOUND or LC_ERR_INVALID. */
static int web_root_file(const lc_server *srv, const char *url, uint8_t **data, size_t *len,
                         const char **mime)
{
    char full[4096], *real = NULL, *buf = NULL;
    int rc;

    if (url[0] != '/' || strstr(url, "..") || strchr(url, '\\') || strchr(url, ':'))
        return LC_ERR_INVALID; /* ':' : a Windows drive or stream name ("x:y", "f::$DATA") */
    if (!strcmp(url, "/"))
        url = "/index.html";
    else if (!strcmp(url, "/admin"))
        url = "/admin.html";
    if (snprintf(full, sizeof full, "%s%s", srv->web_root_real, url) >= (int)sizeof full)
        return LC_ERR_INVALID;
    if (!(real = lc_plat_realpath(full, NULL, 0)))
        return LC_ERR_NOT_FOUND;
    size_t rl = strlen(srv->web_root_real);
    if (strncmp(real, srv->web_root_real, rl) != 0 ||
        (real[rl] != '\0' && !strchr(LC_PLAT_PATH_SEPS, real[rl]))) {
        rc = LC_ERR_INVALID;
        goto out;
    }
    rc = lc_plat_read_file(real, WEB_ROOT_MAX_FILE, &buf, len, NULL, 0);
    if (rc) {
        rc = LC_ERR_NOT_FOUND; /* too large, unreadable or not a file: nothing to serve */
        goto out;
    }
    *data = (uint8_t *)buf;
    *mime = lc_web_mime_for(real);
out:
    free(real);
    return rc;
}

static int serve_page(struct lws *wsi, lc_server *srv, http_pss *pss, const char *url,
                      bool head_only)
{
    if (srv->web_root_real) {
        uint8_t *data = NULL;
        size_t len = 0;
        const char *mime = NULL;
        int rc = web_root_file(srv, url, &data, &len, &mime);
        if (rc == LC_ERR_INVALID)
            return json_error(wsi, pss, 403, "forbidden", "path not allowed", head_only, NULL);
        if (rc)
            return json_error(wsi, pss, 404, "not_found", "no such page", head_only, NULL);
        return respond(wsi, pss, 200, mime, "no-cache", data, len, data, head_only, NULL, NULL);
    }
    const lc_web_asset *a = lc_web_asset_find(url);
    if (!a)
        return json_error(wsi, pss, 404, "not_found", "no such page", head_only, NULL);
    /* no-cache: revalidate each time, so a new build's page is never mixed with old scripts. */
    return respond(wsi, pss, 200, a->mime, "no-cache", a->data, a->len, NULL, head_only, NULL,
                   NULL);
}

/* A request body follows the headers (content-length > 0 or chunked); *declared is its
 * content-length (0 when chunked). */
static bool has_body(struct lws *wsi, unsigned long long *declared)
{
    char cl[32];
    *declared = 0;
    if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0)
        return true;
    if (lws_hdr_copy(wsi, cl, sizeof cl, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0)
        return (*declared = strtoull(cl, NULL, 10)) > 0;
    return false;
}

/* An API body declared larger than this (or than --max-body, if that is larger) is not even
 * drained: 413 and hang up. Between --max-body and this, the body is read and dropped so the
 * client (which is still sending) reads the 413 instead of a connection reset. */
#define API_DRAIN_MAX (1u << 20)

static const char *method_name(int meth)
{
    switch (meth) {
    case LWSHUMETH_GET: return "GET";
    case LWSHUMETH_POST: return "POST";
    case LWSHUMETH_OPTIONS: return "OPTIONS";
    case LWSHUMETH_PUT: return "PUT";
    case LWSHUMETH_PATCH: return "PATCH";
    case LWSHUMETH_DELETE: return "DELETE";
    case LWSHUMETH_HEAD: return "HEAD";
    default: return "OTHER";
    }
}

/* The REST API: lc_api_handle decides, we carry its answer (status, JSON, one extra header). */
static int api_request(struct lws *wsi, lc_server *srv, http_pss *pss, const char *url,
                       int meth, const char *client)
{
    lc_api_response r;
    const char *xname = NULL;
    char xval[64];
    char *body = pss->api_body; /* ours now: respond() resets the pss */
    size_t blen = pss->api_len;
    bool too_large = pss->api_too_large;
    pss->api_body = NULL;
    lc_api_http_answer(wsi, srv, client, url, method_name(meth), body, blen, too_large, &r, &xname,
                       xval, sizeof xval);
    free(body);
    if (!r.body && r.status != 204) {
        lc_api_response_free(&r);
        return -1; /* out of memory: drop the connection rather than lie */
    }
    /* lc_api_response's body is ours to free; respond() frees what it is given as `owned`. */
    return respond(wsi, pss, (unsigned)r.status, "application/json", "no-store",
                   (const uint8_t *)r.body, r.status == 204 ? 0 : r.body_len,
                   (uint8_t *)r.body, meth == LWSHUMETH_HEAD, xname, xval);
}

static int handle_request(struct lws *wsi, lc_server *srv, http_pss *pss, const char *url)
{
    char *uri_ptr = NULL;
    int uri_len = 0;
    int meth = lws_http_get_uri_and_method(wsi, &uri_ptr, &uri_len);
    bool get = meth == LWSHUMETH_GET, head = meth == LWSHUMETH_HEAD;

    char addr[LC_ADDR_MAX];
    if (pss->deferred) {
        memcpy(addr, pss->client, sizeof addr);
    } else {
        /* The first look at this request (a deferred one comes back at BODY_COMPLETION). */
        lc_client_addr(wsi, srv, addr);
        if (lc_clients_refuse_request(wsi, srv, addr)) {
            pss_reset(pss);
            pss->close_after = true;
            return json_error(wsi, pss, 429, "too_many_connections", "too many connections "
                              "from this address; close some and try again", head, NULL);
        }
    }
    unsigned long long declared = 0;
    size_t drain_max = srv->cfg.max_body > API_DRAIN_MAX ? srv->cfg.max_body : API_DRAIN_MAX;
    if (!pss->deferred && !get && !head &&
        lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0) {
        /* lws 4.1 does not decode a chunked request body for us: it would sit unread until the
         * idle hang-up. Say so at once, and close, since the chunks would otherwise be read as
         * the next request. Browsers and curl send Content-Length for bodies this small. */
        pss_reset(pss);
        pss->close_after = true;
        return json_error(wsi, pss, 411, "length_required",
                          "send the body with a Content-Length (chunked request bodies are not "
                          "accepted)", false, NULL);
    }
    if (!pss->deferred && !get && !head && has_body(wsi, &declared)) {
        if (declared > drain_max && lc_api_http_is_api(url) && !lc_server_stopping(srv)) {
            pss_reset(pss);
            pss->api_too_large = true;
            pss->close_after = true;
            return api_request(wsi, srv, pss, url, meth, addr);
        }
        /* Answering now would leave the body on the connection to be parsed as the next
         * request: read (and drop) it first, answer at HTTP_BODY_COMPLETION. */
        pss_reset(pss);
        pss->deferred = true;
        snprintf(pss->url, sizeof pss->url, "%s", url);
        memcpy(pss->client, addr, sizeof pss->client);
        return 0;
    }
    pss->deferred = false;
    bool api = lc_api_http_is_api(url);

    if (lc_server_stopping(srv))
        return json_error(wsi, pss, 503, "shutting_down", "the server is shutting down", head,
                          NULL);
    if (api) {
        if (!strcmp(url, "/api/v1/events"))
            return json_error(wsi, pss, 426, "upgrade_required", "/api/v1/events is a "
                              "WebSocket (subprotocol " LC_EVENTS_PROTOCOL ")", head, NULL);
        return api_request(wsi, srv, pss, url, meth, addr);
    }
    if (!get && !head)
        return json_error(wsi, pss, 405, "method_not_allowed", "use GET or HEAD", false,
                          "GET, HEAD");

    if (!strcmp(url, "/healthz"))
        return respond(wsi, pss, 200, "text/plain; charset=utf-8", "no-store",
                       (const uint8_t *)"ok\n", 3, NULL, head, NULL, NULL);
    if (!strcmp(url, "/readyz")) {
        /* 200 while the first stream runs; every stream's state in the body (wire.c) */
        int ready = 0;
        char *b = lc_wire_readyz(srv, &ready);
        if (!b)
            return -1;
        return respond(wsi, pss, ready ? 200 : 503, "application/json", "no-store", (uint8_t *)b,
                       strlen(b), (uint8_t *)b, head, NULL, NULL);
    }
    if (!strcmp(url, "/metrics")) {
        size_t len = 0;
        char *m = lc_metrics_render(srv, &len);
        if (!m)
            return -1;
        return respond(wsi, pss, 200, "text/plain; version=0.0.4; charset=utf-8", "no-store",
                       (uint8_t *)m, len, (uint8_t *)m, head, NULL, NULL);
    }
    if (!strcmp(url, "/stream.ogg")) {
        unsigned status;
        char why[160];
        pss_reset(pss);
        if (lc_ogg_http_start(wsi, srv, addr, head, &pss->ogg, &status, why, sizeof why))
            return status == 500 ? -1 : json_error(wsi, pss, status, status == 404 ? "not_found"
                                                   : status == 400 ? "invalid_session"
                                                                   : "unavailable", why, head, NULL);
        if (head)
            return lws_http_transaction_completed(wsi) ? -1 : 0;
        return 0;
    }
    if (!strcmp(url, "/stream"))
        return json_error(wsi, pss, 426, "upgrade_required",
                          "/stream is a WebSocket (subprotocol loopcast.v1)", head, NULL);
    return serve_page(wsi, srv, pss, url, head);
}

static int callback_locked(struct lws *wsi, enum lws_callback_reasons reason, void *user,
                           void *in, size_t len)
{
    http_pss *pss = user;
    lc_server *srv = lc_server_of(wsi);

    switch (reason) {
    case LWS_CALLBACK_FILTER_NETWORK_CONNECTION:
        /* The listen socket's callback (worker 0): `user` is the new peer, before lws reads a
         * byte. Let in, it may go to a less busy worker (worker.c): then it is not ours. */
        if (lc_clients_filter_network(lc_worker_of(wsi), user))
            return 1;
        return lc_worker_handoff(lc_worker_of(wsi), user) ? 1 : 0;
    case LWS_CALLBACK_WSI_CREATE:
        lc_clients_wsi_create(srv, wsi);
        return 0;
    case LWS_CALLBACK_WSI_DESTROY:
        lc_clients_wsi_destroy(srv, wsi);
        return 0;
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
        return lc_clients_confirm_upgrade(wsi, srv);
    case LWS_CALLBACK_HTTP:
        return handle_request(wsi, srv, pss, in ? (const char *)in : "/");
    case LWS_CALLBACK_HTTP_BODY:
        /* Only API requests keep their body (bounded); any other body is dropped. */
        if (pss && pss->deferred && lc_api_http_is_api(pss->url) && !pss->api_too_large) {
            if (pss->api_len + len > srv->cfg.max_body) {
                pss->api_too_large = true;
                free(pss->api_body);
                pss->api_body = NULL;
                pss->api_len = 0;
            } else {
                if (!pss->api_body && !(pss->api_body = malloc(srv->cfg.max_body)))
                    return -1;
                memcpy(pss->api_body + pss->api_len, in, len);
                pss->api_len += len;
            }
        }
        return 0;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        if (pss && pss->deferred) {
            char url[sizeof pss->url];
            /* pss->url goes away with the reset inside handle_request */
            memcpy(url, pss->url, sizeof url);
            return handle_request(wsi, srv, pss, url);
        }
        return 0;
    case LWS_CALLBACK_HTTP_WRITEABLE:
        if (pss && pss->ogg)
            return lc_ogg_http_writeable(pss->ogg);
        return pss ? write_more(wsi, pss) : 0;
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
    case LWS_CALLBACK_CLOSED_HTTP:
        if (pss)
            pss_reset(pss);
        break;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

int lc_http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                     size_t len)
{
    switch (reason) {
    case LWS_CALLBACK_FILTER_NETWORK_CONNECTION:
    case LWS_CALLBACK_WSI_CREATE:
    case LWS_CALLBACK_WSI_DESTROY:
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
    case LWS_CALLBACK_HTTP:
    case LWS_CALLBACK_HTTP_BODY:
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
    case LWS_CALLBACK_HTTP_WRITEABLE:
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
    case LWS_CALLBACK_CLOSED_HTTP: {
        /* What an HTTP request touches (limits, the API, the session table, Ogg listeners) is
         * shared by the workers: under srv->mu. lws's own bookkeeping calls (poll changes,
         * thread ids) come here too, far more often, and take no lock. */
        lc_server *srv = lc_server_of(wsi);
        if (!srv)
            break;
        lc_mutex_lock(srv->mu);
        int rc = callback_locked(wsi, reason, user, in, len);
        lc_mutex_unlock(srv->mu);
        return rc;
    }
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}
