/*
 * http_reply.c — the pieces every HTTP answer of the server shares, whoever sends it (http.c,
 * the upgrade gate in clients.c, the redirect in tls.c): our security headers (never lws's
 * "best practices" set, whose fixed CSP blocks the WASM decoder), one header, JSON string
 * escaping, and a JSON error answered at once. Depends on nothing else in server/.
 */
#include "internal.h"

#include <stdio.h>
#include <string.h>

static const char CSP[] = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; "
                          "connect-src 'self' ws: wss:; style-src 'self'; img-src 'self' data:; "
                          "object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

int lc_http_add_header(struct lws *wsi, const char *name, const char *val, unsigned char **p,
                       unsigned char *end)
{
    return lws_add_http_header_by_name(wsi, (const unsigned char *)name,
                                       (const unsigned char *)val, (int)strlen(val), p, end);
}

int lc_http_add_security_headers(struct lws *wsi, unsigned char **p, unsigned char *end,
                                 const char *cache_control)
{
    if (lc_http_add_header(wsi, "content-security-policy:", CSP, p, end) ||
        lc_http_add_header(wsi, "x-content-type-options:", "nosniff", p, end) ||
        lc_http_add_header(wsi, "referrer-policy:", "no-referrer", p, end) ||
        lc_http_add_header(wsi, "cache-control:", cache_control ? cache_control : "no-store", p,
                           end))
        return 1;
    return 0;
}

/* JSON string escaping for the few strings we put into bodies (a path, an error reason). */
void lc_json_escape(char *out, size_t cap, const char *in)
{
    size_t o = 0;
    for (; *in && o + 7 < cap; in++) {
        unsigned char c = (unsigned char)*in;
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c < 0x20) {
            o += (size_t)snprintf(out + o, cap - o, "\\u%04x", c);
        } else {
            out[o++] = (char)c;
        }
    }
    out[o] = '\0';
}

int lc_http_error_now(struct lws *wsi, unsigned status, const char *code, const char *message,
                      bool close)
{
    uint8_t buf[LWS_PRE + 2048];
    unsigned char *start = buf + LWS_PRE, *p = start, *end = buf + sizeof buf - 1;
    char esc[512], body[640];
    lc_json_escape(esc, sizeof esc, message);
    int bl = snprintf(body, sizeof body, "{\"error\":{\"code\":\"%s\",\"message\":\"%s\"}}\n",
                      code, esc);
    if (bl < 0 || (size_t)bl >= sizeof body)
        return -1;
    if (lws_add_http_common_headers(wsi, status, "application/json", (lws_filepos_t)bl, &p,
                                    end) ||
        (close && lc_http_add_header(wsi, "connection:", "close", &p, end)) ||
        lc_http_add_security_headers(wsi, &p, end, "no-store") ||
        lws_finalize_http_header(wsi, &p, end) || end - p < bl)
        return -1;
    /* Headers and body in one write, as lws_return_http_status does: lws takes the connection
     * back as soon as we return, so nothing may be left for a later WRITEABLE. */
    memcpy(p, body, (size_t)bl);
    p += bl;
    return lws_write(wsi, start, (size_t)(p - start), LWS_WRITE_HTTP_HEADERS) < 0 ? -1 : 1;
}
