/*
 * tls.c — the certificate check before lws loads it, and the plain-HTTP redirect listener.
 *
 * Why check ourselves: lws reports a bad pair as three ERROR lines ending in "Failed to create
 * default vhost", which reads like a bind failure; and an encrypted key makes OpenSSL prompt for
 * a passphrase on the terminal, which under systemd is a hang. Loading both files here first
 * gives one line that names the flag and the cause, and never prompts.
 *
 * Why a separate redirect port rather than plain HTTP on the TLS port: lws can accept plaintext
 * on a TLS listener (ALLOW_NON_SSL_ON_SSL_PORT), but then plaintext WebSocket upgrades reach the
 * audio and events protocols unless every handler checks, and its built-in http→https redirect
 * copies the Host header into Location unchecked and drops the path. So the TLS port speaks TLS
 * only (a plaintext request there is closed unanswered), and --redirect-port is a vhost of its
 * own whose only protocol answers 308 with a Host we have validated.
 */
#include "tls.h"

#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define LC_TLS_MOD "tls"
#define LC_REDIRECT_MAX 4096 /* longest Location we build; longer request URLs get 414 */
#define LC_REDIRECT_MAX_ARGS 64

/* ---- certificate and key --------------------------------------------------------------- */

static const char *ssl_reason(void)
{
    unsigned long e = ERR_peek_last_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    return r ? r : "unknown error";
}

/* The passphrase callback: never prompt; remember that a passphrase was wanted. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    *(int *)u = 1;
    return -1;
}

static void asn1_date(const ASN1_TIME *t, char *out, size_t cap)
{
    struct tm tm;
    if (!t || !ASN1_TIME_to_tm(t, &tm) || !strftime(out, cap, "%Y-%m-%d %H:%M UTC", &tm))
        snprintf(out, cap, "?");
}

/* "DNS:a, IP:1.2.3.4, ..." from the subjectAltName extension (what browsers match against). */
static void san_list(X509 *x, char *out, size_t cap)
{
    GENERAL_NAMES *names = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    size_t o = 0;
    out[0] = '\0';
    for (int i = 0; names && i < sk_GENERAL_NAME_num(names) && o + 64 < cap; i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
        char ip[64] = "";
        if (g->type == GEN_DNS) {
            const unsigned char *d = ASN1_STRING_get0_data(g->d.dNSName);
            int dl = ASN1_STRING_length(g->d.dNSName);
            o += (size_t)snprintf(out + o, cap - o, "%sDNS:%.*s", o ? ", " : "", dl > 60 ? 60 : dl,
                                  (const char *)d);
        } else if (g->type == GEN_IPADD) {
            const unsigned char *a = ASN1_STRING_get0_data(g->d.iPAddress);
            int al = ASN1_STRING_length(g->d.iPAddress);
            if (al == 4)
                snprintf(ip, sizeof ip, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
            else if (al == 16)
                lc_plat_ip_format(6, a, ip, sizeof ip);
            o += (size_t)snprintf(out + o, cap - o, "%sIP:%s", o ? ", " : "", ip[0] ? ip : "?");
        }
        if (o >= cap)
            o = cap - 1;
    }
    GENERAL_NAMES_free(names);
}

static void log_cert(X509 *x, const char *path)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    char fp[EVP_MAX_MD_SIZE * 3 + 1] = "", sans[768], until[40], from[40];
    if (X509_digest(x, EVP_sha256(), md, &mdlen))
        for (unsigned i = 0; i < mdlen; i++)
            snprintf(fp + i * 3, sizeof fp - i * 3, "%02X%s", md[i], i + 1 < mdlen ? ":" : "");
    san_list(x, sans, sizeof sans);
    asn1_date(X509_get0_notAfter(x), until, sizeof until);
    asn1_date(X509_get0_notBefore(x), from, sizeof from);
    lc_log(LC_LOG_INFO, LC_TLS_MOD, "certificate %s: names %s; valid until %s; SHA-256 %s", path,
           sans[0] ? sans : "(no subjectAltName: browsers will refuse it)", until, fp);
    if (X509_cmp_current_time(X509_get0_notAfter(x)) < 0)
        lc_log(LC_LOG_WARN, LC_TLS_MOD, "certificate %s expired on %s: browsers will refuse it "
               "(make a new one: deploy/make-cert.sh --force)", path, until);
    else if (X509_cmp_current_time(X509_get0_notBefore(x)) > 0)
        lc_log(LC_LOG_WARN, LC_TLS_MOD, "certificate %s is not valid before %s (clock?)", path, from);
}

int lc_tls_check_files(const char *cert, const char *key, char *errbuf, size_t errlen)
{
    FILE *f = NULL;
    X509 *x = NULL;
    EVP_PKEY *pk = NULL;
    int wanted_pass = 0, rc = LC_ERR_INVALID;

    ERR_clear_error();
    f = fopen(cert, "r");
    if (!f) {
        lc_errf(errbuf, errlen, "--tls-cert: '%s': %s", cert, strerror(errno));
        goto fail;
    }
    x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    if (!x) {
        lc_errf(errbuf, errlen, "--tls-cert: '%s' holds no PEM certificate (%s)", cert, ssl_reason());
        goto fail;
    }
    f = fopen(key, "r");
    if (!f) {
        lc_errf(errbuf, errlen, "--tls-key: '%s': %s", key, strerror(errno));
        goto fail;
    }
    pk = PEM_read_PrivateKey(f, NULL, no_passphrase, &wanted_pass);
    fclose(f);
    if (!pk && wanted_pass) {
        lc_errf(errbuf, errlen, "--tls-key: '%s' is encrypted and loopcast cannot ask for a "
                "passphrase; write a plain copy (openssl pkey -in KEY -out NEW; chmod 600 NEW)", key);
        goto fail;
    }
    if (!pk) {
        lc_errf(errbuf, errlen, "--tls-key: '%s' holds no PEM private key (%s)", key, ssl_reason());
        goto fail;
    }
    if (X509_check_private_key(x, pk) != 1) {
        lc_errf(errbuf, errlen, "--tls-key: '%s' is not the key of the certificate in --tls-cert "
                "'%s' (%s)", key, cert, ssl_reason());
        goto fail;
    }
    log_cert(x, cert);
    rc = 0;
fail:
    ERR_clear_error(); /* lws reads the error queue after its own loads: leave it empty */
    EVP_PKEY_free(pk);
    X509_free(x);
    return rc;
}

/* ---- the redirect --------------------------------------------------------------------- */

static int is_alnum(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static int is_hex(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* The host part of a Host header (port dropped), or -1 when it is not one. */
static int host_only(const char *h, const char **host, size_t *hl)
{
    const char *p = h, *rest;
    if (*h == '[') { /* [IPv6] */
        for (p = h + 1; *p && *p != ']'; p++)
            if (!is_hex((unsigned char)*p) && *p != ':' && *p != '.')
                return -1;
        if (*p != ']' || p == h + 1 || p - h > 47)
            return -1;
        rest = p + 1;
    } else { /* a DNS name or an IPv4 literal */
        for (; *p && *p != ':'; p++)
            if (!is_alnum((unsigned char)*p) && *p != '-' && *p != '.')
                return -1;
        if (p == h || p - h > 253 || *h == '.' || *h == '-')
            return -1;
        rest = p;
    }
    if (*rest == ':') {
        unsigned long port = 0;
        const char *d = rest + 1;
        for (; *d >= '0' && *d <= '9' && d - rest <= 5; d++)
            port = port * 10 + (unsigned long)(*d - '0');
        if (d == rest + 1 || *d || port > 65535)
            return -1;
    } else if (*rest) {
        return -1;
    }
    *host = h;
    *hl = (size_t)(rest - h);
    return 0;
}

/* Appends `s` percent-encoding every byte that is not a URL pchar (RFC 3986) or in `also`. */
static int put_encoded(char *out, size_t cap, size_t *o, const char *s, size_t n, const char *also)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        int keep = c && (is_alnum(c) || strchr("-._~!$'()*+,;=:@", c) || strchr(also, c));
        if (*o + 4 > cap)
            return -1;
        if (keep) {
            out[(*o)++] = (char)c;
        } else {
            out[(*o)++] = '%';
            out[(*o)++] = hex[c >> 4];
            out[(*o)++] = hex[c & 15];
        }
    }
    out[*o] = '\0';
    return 0;
}

int lc_tls_redirect_location(const char *host, const char *path, const char *const *query,
                             size_t n_query, int https_port, char *out, size_t cap)
{
    const char *h;
    size_t hl, o;
    if (!host || host_only(host, &h, &hl) || cap < 16)
        return -1;
    int n = https_port == 443 ? snprintf(out, cap, "https://%.*s", (int)hl, h)
                              : snprintf(out, cap, "https://%.*s:%d", (int)hl, h, https_port);
    if (n < 0 || (size_t)n >= cap)
        return -1;
    o = (size_t)n;
    if (!path || path[0] != '/') /* an absolute-form or empty target: go to the root */
        path = "/";
    if (put_encoded(out, cap, &o, path, strlen(path), "/"))
        return -1;
    for (size_t i = 0; i < n_query; i++) {
        if (o + 2 > cap)
            return -1;
        out[o++] = i ? '&' : '?';
        /* '&' inside one decoded argument stays encoded: it is not a separator there. */
        if (put_encoded(out, cap, &o, query[i], strlen(query[i]), "/?"))
            return -1;
    }
    out[o] = '\0';
    return (int)o;
}

/* One short response, then the connection closes (a request body is never read here). */
static int answer(struct lws *wsi, unsigned status, const char *location, const char *mime,
                  const char *body)
{
    uint8_t buf[LWS_PRE + LC_REDIRECT_MAX + 1024];
    uint8_t bbuf[LWS_PRE + 256];
    unsigned char *start = buf + LWS_PRE, *p = start, *end = buf + sizeof buf - 1;
    size_t blen = strlen(body);
    int head = lws_hdr_total_length(wsi, WSI_TOKEN_HEAD_URI) > 0;

    if (blen > sizeof bbuf - LWS_PRE)
        return -1;
    if (lws_add_http_header_status(wsi, status, &p, end) ||
        (location && lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_LOCATION,
                                                  (const unsigned char *)location,
                                                  (int)strlen(location), &p, end)) ||
        lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE,
                                     (const unsigned char *)mime, (int)strlen(mime), &p, end) ||
        lws_add_http_header_content_length(wsi, blen, &p, end) ||
        lws_add_http_header_by_token(wsi, WSI_TOKEN_CONNECTION, (const unsigned char *)"close",
                                     5, &p, end) ||
        lc_http_add_security_headers(wsi, &p, end, "no-store") ||
        lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    if (!head && blen) {
        memcpy(bbuf + LWS_PRE, body, blen);
        if (lws_write(wsi, bbuf + LWS_PRE, blen, LWS_WRITE_HTTP_FINAL) != (int)blen)
            return -1;
    }
    return -1; /* close: under 1 KiB on a fresh socket, the kernel has taken all of it */
}

static int redirect_request(struct lws *wsi, const char *path_in, size_t path_len)
{
    const lc_server *srv = lc_server_of(wsi);
    char host[300], path[LC_REDIRECT_MAX], loc[LC_REDIRECT_MAX];
    char args[LC_REDIRECT_MAX], *argv[LC_REDIRECT_MAX_ARGS];
    size_t n_args = 0, used = 0;

    if (lws_hdr_total_length(wsi, WSI_TOKEN_HOST) <= 0 ||
        lws_hdr_copy(wsi, host, sizeof host, WSI_TOKEN_HOST) <= 0)
        return answer(wsi, HTTP_STATUS_BAD_REQUEST, NULL, "application/json",
                      "{\"error\":{\"code\":\"bad_host\",\"message\":\"no usable Host header: "
                      "this port only redirects to HTTPS by name\"}}\n");
    if (path_len >= sizeof path)
        goto too_long;
    memcpy(path, path_in ? path_in : "/", path_in ? path_len : 1);
    path[path_in ? path_len : 1] = '\0';
    for (int i = 0;; i++) {
        int want = lws_hdr_fragment_length(wsi, WSI_TOKEN_HTTP_URI_ARGS, i);
        if (want <= 0 && lws_hdr_copy_fragment(wsi, args + used, (int)(sizeof args - used),
                                               WSI_TOKEN_HTTP_URI_ARGS, i) < 0)
            break; /* no fragment i: every argument is in */
        /* Dropping arguments would redirect somewhere else than asked: refuse instead. */
        if (n_args == LC_REDIRECT_MAX_ARGS || want < 0 || used + (size_t)want + 1 > sizeof args)
            goto too_long;
        int n = lws_hdr_copy_fragment(wsi, args + used, (int)(sizeof args - used),
                                      WSI_TOKEN_HTTP_URI_ARGS, i);
        if (n < 0)
            goto too_long;
        argv[n_args++] = args + used;
        used += (size_t)n + 1;
    }
    if (lc_tls_redirect_location(host, path, (const char *const *)argv, n_args, srv->cfg.port,
                                 loc, sizeof loc) < 0) {
        /* Host is the only input that can fail it once the lengths are in bounds. */
        if (lc_tls_redirect_location(host, "/", NULL, 0, srv->cfg.port, loc, sizeof loc) >= 0)
            goto too_long;
        return answer(wsi, HTTP_STATUS_BAD_REQUEST, NULL, "application/json",
                      "{\"error\":{\"code\":\"bad_host\",\"message\":\"the Host header is not a "
                      "hostname, IPv4 or [IPv6] address with an optional :port\"}}\n");
    }
    return answer(wsi, 308, loc, "text/plain; charset=utf-8",
                  "This port redirects to HTTPS: see the Location header.\n");
too_long:
    return answer(wsi, HTTP_STATUS_REQ_URI_TOO_LONG, NULL, "application/json",
                  "{\"error\":{\"code\":\"uri_too_long\",\"message\":\"the URL is too long to "
                  "redirect\"}}\n");
}

static int redirect_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
                             void *in, size_t len)
{
    switch (reason) {
    case LWS_CALLBACK_HTTP:
        return redirect_request(wsi, in, len);
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        return -1; /* no WebSocket on the plain port: the page and its sockets are on HTTPS */
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}

static const struct lws_protocols redirect_protocols[] = {
    {.name = "loopcast.redirect", .callback = redirect_callback},
    {.name = NULL},
};

int lc_tls_redirect_start(struct lws_context *ctx, const lc_config *cfg, char *errbuf,
                          size_t errlen)
{
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.vhost_name = "redirect";
    info.port = cfg->redirect_port;
    info.iface = cfg->bind;
    info.protocols = redirect_protocols;
    info.keepalive_timeout = 5;
    info.timeout_secs = 10;
    info.options = LWS_SERVER_OPTION_FAIL_UPON_UNABLE_TO_BIND;
    if (cfg->bind && !strchr(cfg->bind, ':') && strchr(cfg->bind, '.'))
        info.options |= LWS_SERVER_OPTION_DISABLE_IPV6; /* as the HTTPS vhost (server.c) */
    if (!lws_create_vhost(ctx, &info)) {
        lc_errf(errbuf, errlen, "--redirect-port: cannot listen on %s:%d (address in use or no "
                "permission)", cfg->bind ? cfg->bind : "*", cfg->redirect_port);
        return LC_ERR_IO;
    }
    return 0;
}
